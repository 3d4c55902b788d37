def test_login_and_me(client, make_user):
    user = make_user("admin")
    response = client.post("/api/auth/login", json={"username": user["username"], "password": user["password"]})
    assert response.status_code == 200
    token = response.get_json()["access_token"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["username"] == user["username"]


def test_worker_health(client, celery_worker):
    response = client.get("/api/health")
    assert response.get_json() == {"db": "ok", "redis": "ok", "worker": "ok"}

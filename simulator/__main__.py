"""python -m simulator [--host 127.0.0.1] [--port 5055]"""

import argparse
import logging
import os

from werkzeug.serving import run_simple

from simulator import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator",
                                     description="Offline Midtrans simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    overrides = {}
    if not os.environ.get("SIMULATOR_PUBLIC_URL"):
        # Links on the payment page must point at the port actually served.
        overrides["PUBLIC_URL"] = f"http://{args.host}:{args.port}"
    app = create_app(overrides)
    logging.getLogger("simulator").info("simulator.started url=http://%s:%s", args.host, args.port)
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()

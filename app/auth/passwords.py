"""Password hashing with argon2id, and the rule a new password must meet."""

import re
import threading

import zxcvbn
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.matching import RANKED_DICTIONARIES

from app.domain import Invalid

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost

# Verified against when the username is unknown, so an unknown user costs as
# much time as a wrong password and usernames cannot be probed by timing.
_DUMMY_HASH = _hasher.hash("no-such-user-placeholder")

# NIST SP 800-63B: at least 8 characters. The maximum keeps hashing a hostile
# 1 MB "password" from tying up a worker.
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
# zxcvbn's 3: "safely unguessable", about 10^8 guesses, beyond an online attack
# and costly offline against argon2id.
MIN_PASSWORD_SCORE = 3
# zxcvbn's own cap: its cost grows steeply with length (a 128-character repeat
# takes half a second), and 72 characters that are guessable are refused anyway.
_ESTIMATED_LENGTH = 72
# Words anyone at the shop would try first, besides the user's and the store's names.
SHOP_WORDS = ("kasir", "admin", "pos", "toko", "warung", "kafe", "cafe", "supervisor", "cashier", "penyelia",
              "rahasia", "katasandi", "sandi")
# The list of known-bad passwords: zxcvbn's 30,000 most common ones from breaches.
_COMMON_PASSWORDS = RANKED_DICTIONARIES["passwords"]
# zxcvbn keeps the user inputs in a module-level dictionary; one estimate at a time.
_estimate_lock = threading.Lock()


class WeakPassword(Invalid):
    """A new password that is too short, too long, known or easily guessed; nothing may be saved."""

    def __init__(self, field, reasons):
        self.field = field  # the request field that carried it
        self.reasons = reasons  # what a person can act on, the most telling first
        super().__init__(f"{field} is too weak: {reasons[0]}", errors={"json": {field: reasons}})


def hash_password(password):
    return _hasher.hash(password)


def verify_password(password_hash, password):
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    return _hasher.check_needs_rehash(password_hash)


def check_new_password(password, *, field, personal=()):
    """Raise WeakPassword unless `password` may be set; `personal` are the user's and the store's names."""
    reasons = password_problems(password, personal)
    if reasons:
        raise WeakPassword(field, reasons)


def password_problems(password, personal=()):
    """Why `password` must not be set, or nothing: its length, the known-bad list, then zxcvbn's estimate."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [f"At least {MIN_PASSWORD_LENGTH} characters."]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [f"At most {MAX_PASSWORD_LENGTH} characters."]
    with _estimate_lock:
        estimate = zxcvbn.zxcvbn(password[:_ESTIMATED_LENGTH], user_inputs=_guessable_words(personal))
    known = password.lower() in _COMMON_PASSWORDS
    if estimate["score"] >= MIN_PASSWORD_SCORE and not known:
        return []
    feedback = estimate["feedback"]
    personal_words = any(match.get("dictionary_name") == "user_inputs" for match in estimate["sequence"])
    if feedback["warning"]:
        warning = feedback["warning"]
    elif known:
        warning = "This is one of the most common passwords."
    elif personal_words:
        warning = "It is built on a name, the username, the store's name or a shop word such as 'kasir'."
    else:
        warning = "This password is too easy to guess."
    return [warning, *(feedback["suggestions"] or ["Use three or four unrelated words."])]


def _guessable_words(personal):
    """The shop's words and each name whole, word by word and run together ("Toko Utama", "toko", "tokoutama")."""
    words = set(SHOP_WORDS)
    for text in personal:
        if not text:
            continue
        parts = [part for part in re.split(r"[^0-9a-z]+", text.lower()) if part]
        words.update([text.lower(), "".join(parts), *parts])
    return sorted(word for word in words if len(word) >= 3)  # shorter ones match by chance

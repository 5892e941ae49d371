"""Signing keys: from the environment when given, else generated once into ``var/secrets``."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create(directory: Path, name: str, env_value: str | None = None) -> str:
    if env_value:
        return env_value
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    path = directory / name
    try:
        # O_EXCL: two processes starting at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()

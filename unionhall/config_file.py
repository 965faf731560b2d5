"""`init` remembers the instance URL in the data directory, so later commands need no flags."""
from __future__ import annotations

import json
import os
from pathlib import Path

from unionhall.settings import Settings, from_env

CONFIG_NAME = "config.json"


def load_settings(**overrides) -> Settings:
    settings = from_env(**overrides)
    path = settings.data_dir / CONFIG_NAME
    if "UNIONHALL_URL" not in os.environ and "url" not in overrides and path.exists():
        stored = json.loads(path.read_text())
        settings = from_env(url=stored.get("url", settings.url), **overrides)
    return settings


def save(settings: Settings) -> Path:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / CONFIG_NAME
    path.write_text(json.dumps({"url": settings.url}, indent=2) + "\n")
    return path

"""The Redis connection: short timeouts, so a dead Redis never stalls a page."""

from __future__ import annotations

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError


def redis_from_url(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2.0)


def get_redis() -> Redis:
    """The app's Redis client (created once per app, connects lazily)."""
    client = current_app.extensions.get("jiedian.redis")
    if client is None:
        client = redis_from_url(current_app.config["REDIS_URL"])
        current_app.extensions["jiedian.redis"] = client
    return client


def redis_prefix() -> str:
    """This portal's name on Redis: every queue, job id, lock and marker starts with it.

    Two portals on one Redis (a second county, a staging copy, a test run)
    each see only their own: REDIS_PREFIX, or one derived from the database
    (portal.core.config.redis_prefix), so a portal and its workers agree by themselves.
    """
    return current_app.config["REDIS_PREFIX"]


def redis_key(*parts: str) -> str:
    """A key of this portal's own: ``redis_key("scheduler", "lock")`` → ``jiedian-…:scheduler:lock``."""
    return ":".join((redis_prefix(), *parts))


def redis_available() -> bool:
    try:
        return bool(get_redis().ping())
    except (RedisError, OSError):
        return False

"""Logging in and out: passwords, CSRF, rate limits, server-side sessions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.core.extensions import db
from portal.models import AuditEntry, LoginAttempt, UserSession
from tests import factories as f


def test_login_page_speaks_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "登录" in html and 'lang="zh-CN"' in html


def test_login_and_logout(app, client, auth):
    f.user("wang", roles=["supervisor"])
    db.session.commit()
    response = auth.login("wang")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "auth.login" in actions
    auth.logout()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_is_refused_in_chinese(client, auth):
    f.user("li")
    db.session.commit()
    response = auth.login("li", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_missing_fields_are_named(client, auth):
    token = auth.csrf()
    response = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请输入用户名" in html and "请输入密码" in html


def test_login_without_csrf_token_is_refused(client):
    f.user("zhao")
    db.session.commit()
    response = client.post("/login", data={"username": "zhao", "password": f.PASSWORD})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)


def test_inactive_account_cannot_log_in(client, auth):
    f.user("sun", is_active_account=False)
    db.session.commit()
    assert auth.login("sun").status_code == 401


def test_repeated_failures_lock_the_username_even_for_the_right_password(app, client, auth, clock):
    f.user("qian")
    db.session.commit()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login("qian", "nope-nope").status_code == 401
    response = auth.login("qian")
    assert response.status_code == 429
    assert "登录失败次数过多" in response.get_data(as_text=True)
    # The window passes: the right password works again.
    clock.set(clock.now() + app.config["LOGIN_WINDOW"] + timedelta(seconds=1))
    assert auth.login("qian").status_code == 302


def test_rate_limit_lives_in_the_database_not_redis(app, client, auth):
    """The limit holds with Redis unreachable: it is counted from login_attempt rows."""
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    f.user("zhou")
    db.session.commit()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login("zhou", "bad-password")
    assert auth.login("zhou").status_code == 429
    # The refused attempt is not even counted: the lock is decided before the password is checked.
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == app.config["LOGIN_MAX_FAILURES"]


def test_session_is_renewed_at_login(app, client, auth):
    f.user("wu")
    db.session.commit()
    client.get("/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    auth.login("wu")
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.get("sid")


def test_logout_ends_the_session_server_side(app, client, auth):
    f.user("zheng")
    db.session.commit()
    auth.login("zheng")
    with client.session_transaction() as sess:
        stolen = dict(sess)
    auth.logout()
    # Replaying the cookie captured before logout gets nowhere.
    with client.session_transaction() as sess:
        sess.update(stolen)
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    row = db.session.scalars(select(UserSession)).one()
    assert row.ended_at is not None


def test_idle_sessions_expire(app, client, auth, clock):
    f.user("feng")
    db.session.commit()
    auth.login("feng")
    clock.set(clock.now() + app.config["SESSION_IDLE_TIMEOUT"] - timedelta(minutes=1))
    assert client.get("/").status_code == 200
    clock.set(clock.now() + app.config["SESSION_IDLE_TIMEOUT"] + timedelta(minutes=1))
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    # The login page says why, once; later it is the usual request to log in.
    minutes = int(app.config["SESSION_IDLE_TIMEOUT"].total_seconds() // 60)
    assert f"您已超过 {minutes} 分钟未操作，会话已结束" in client.get(response.headers["Location"]).get_data(as_text=True)
    client.get("/")
    assert "请先登录后继续" in client.get("/login").get_data(as_text=True)


def test_next_only_goes_to_this_site(client, auth):
    f.user("chen")
    db.session.commit()
    token = auth.csrf()
    response = client.post(
        "/login?next=https://evil.example/", data={"username": "chen", "password": f.PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/"
    auth.logout()
    token = auth.csrf()
    response = client.post(
        "/login?next=/audit", data={"username": "chen", "password": f.PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/audit"


def test_passwords_are_scrypt_hashes(app):
    user = f.user("han")
    user.set_password("a-long-password")
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("a-long-password") and not user.check_password("other")


def test_english_is_available(client):
    client.get("/lang/en")
    html = client.get("/login").get_data(as_text=True)
    assert "Log in" in html and 'lang="en"' in html


# -- M #1, #2: guesses in parallel, and names told apart by time ----------------------------


def _parallel_logins(app, pairs, ip="203.0.113.9"):
    """POST every (username, password) at the same moment, each from its own browser; the statuses."""
    from tests.conftest import AuthActions, post_at_once

    posts = []
    for username, password in pairs:
        browser = app.test_client()
        token = AuthActions(browser).csrf("/login")
        posts.append((browser, "/login", {"username": username, "password": password, "csrf_token": token}))
    return post_at_once(app, posts, environ_base={"REMOTE_ADDR": ip})


def test_parallel_wrong_passwords_get_no_more_checks_than_the_limit(app, auth):
    """25 simultaneous guesses for one user: at most LOGIN_MAX_FAILURES reach the password check."""
    f.user("chu")
    db.session.commit()
    limit = app.config["LOGIN_MAX_FAILURES"]
    statuses = _parallel_logins(app, [("chu", f"guess-{n}-wrong") for n in range(25)])
    assert statuses.count(401) <= limit, statuses
    assert statuses.count(401) + statuses.count(429) == 25, statuses
    failures = db.session.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.is_success.is_(False)))
    assert failures == statuses.count(401)  # the refused (locked) attempts are not counted
    # When the guesses used up the limit, the right password waits for the window too.
    # (If all 25 were recorded before any was counted, each saw too many and none was checked.)
    assert auth.login("chu").status_code == (429 if failures == limit else 302)


def test_parallel_guesses_from_one_address_get_no_more_checks_than_its_limit(app):
    app.config["LOGIN_MAX_FAILURES_PER_IP"] = 6
    statuses = _parallel_logins(app, [(f"nobody{n}", "wrong-password") for n in range(20)])
    assert statuses.count(401) <= 6, statuses
    assert statuses.count(429) >= 14, statuses


def test_an_unknown_or_inactive_user_costs_a_password_check_too(app, client, auth, monkeypatch):
    """A wrong password for an existing user and any password for an unknown or inactive one do the same work."""
    import werkzeug.security

    import portal.auth.services as services
    import portal.models.user as user_model

    f.user("he")
    f.user("left", is_active_account=False)
    db.session.commit()
    checked = []
    real = werkzeug.security.check_password_hash

    def counting(pwhash, password):
        checked.append(pwhash.split(":", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(user_model, "check_password_hash", counting)
    monkeypatch.setattr(services, "check_password_hash", counting)
    for username in ("he", "no-such-person", "left"):
        checked.clear()
        assert auth.login(username, "wrong-password-1").status_code == 401
        assert len(checked) == 1, username
        assert checked[0] == "scrypt", username  # the same method (and cost) as every real password


def test_a_busy_session_still_ends_at_its_absolute_age(app, client, auth, clock):
    """M #4: the idle limit alone let an active session live for ever; SESSION_MAX_AGE (12 h) ends it."""
    f.user("tao")
    db.session.commit()
    auth.login("tao")
    limit = app.config["SESSION_MAX_AGE"]
    assert limit == timedelta(hours=12)
    start = clock.now()
    step = app.config["SESSION_IDLE_TIMEOUT"] - timedelta(minutes=5)
    while clock.now() + step < start + limit:  # busy all day: never idle for long
        clock.set(clock.now() + step)
        assert client.get("/").status_code == 200
    clock.set(start + limit + timedelta(minutes=1))
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "您登录已超过 12 小时，会话已结束" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.scalars(select(UserSession)).one().ended_at is not None


def test_session_max_age_is_a_setting():
    from portal.core.config import from_environment

    assert from_environment("/i", {"SESSION_MAX_HOURS": "8"})["SESSION_MAX_AGE"] == timedelta(hours=8)

"""Administration rules beyond plain validation."""

from __future__ import annotations

from sqlalchemy import select

from portal.core.extensions import db
from portal.models import League, User, UserSession
from tests import factories as f


def _admin():
    f.user("root", roles=["admin"])
    db.session.commit()


def test_create_a_leader_with_units_in_charge(app, client, auth):
    _admin()
    a, b = f.unit("上派镇"), f.unit("三河镇")
    db.session.commit()
    auth.login("root")
    response = auth.post(
        "/admin/users/new",
        {"username": "fuxianzhang", "display_name": "李副县长", "unit_id": "", "roles": ["leader"],
         "units_in_charge": [a.id, b.id], "password": "a-good-password", "is_active": "y"},
    )
    assert response.status_code == 303
    user = db.session.scalars(select(User).where(User.username == "fuxianzhang")).one()
    assert user.roles == {"leader"} and {u.name for u in user.units_in_charge} == {"上派镇", "三河镇"}
    assert user.check_password("a-good-password")


def test_only_leaders_have_units_in_charge(app, client, auth):
    _admin()
    a = f.unit()
    db.session.commit()
    auth.login("root")
    response = auth.post(
        "/admin/users/new",
        {"username": "staff1", "display_name": "王五", "unit_id": a.id, "roles": ["unit_staff"],
         "units_in_charge": [a.id], "password": "a-good-password"},
    )
    assert response.status_code == 422 and "只有县领导" in response.get_data(as_text=True)


def test_admin_cannot_lock_themselves_out(app, client, auth):
    _admin()
    me = db.session.scalars(select(User)).one()
    auth.login("root")
    response = auth.post(
        f"/admin/users/{me.id}/edit",
        {"username": "root", "display_name": "root", "unit_id": "", "roles": ["supervisor"], "is_active": "y"},
    )
    assert response.status_code == 422
    db.session.refresh(me)
    assert "admin" in me.roles


def test_password_reset_and_deactivation_end_open_sessions(app, client, auth):
    _admin()
    victim = f.user("lisi")
    db.session.commit()
    other = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(other).login("lisi")
    assert other.get("/").status_code == 200
    auth.login("root")
    response = auth.post(
        f"/admin/users/{victim.id}/edit",
        {"username": "lisi", "display_name": "李四", "unit_id": victim.unit_id or "", "roles": ["leader"],
         "password": "brand-new-password", "is_active": "y"},
    )
    assert response.status_code == 303
    assert other.get("/").status_code == 302  # their session is over
    assert all(s.ended_at for s in db.session.scalars(select(UserSession).where(UserSession.user_id == victim.id)))


def test_at_most_ten_leagues(app, client, auth):
    _admin()
    for i in range(10):
        f.league(f"联赛{i}")
    db.session.commit()
    auth.login("root")
    response = auth.post("/admin/leagues/new", {"name": "第十一联赛"})
    assert response.status_code == 422
    assert "最多设置十个" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(League.id))) == 10


def test_a_used_league_cannot_be_deleted(app, client, auth):
    _admin()
    league = f.league("园区联赛")
    f.unit(league=league)
    empty_id = f.league("空联赛").id
    db.session.commit()
    auth.login("root")
    response = auth.post(f"/admin/leagues/{league.id}/delete", page="/admin/leagues")
    assert "不能删除" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.get(League, league.id) is not None
    assert auth.post(f"/admin/leagues/{empty_id}/delete", page="/admin/leagues").status_code == 303
    assert db.session.get(League, empty_id) is None


def test_unit_edit_is_audited_with_before_and_after(app, client, auth):
    _admin()
    unit = f.unit("上派镇", head_name="张三")
    db.session.commit()
    auth.login("root")
    response = auth.post(
        f"/admin/units/{unit.id}/edit",
        {"name": "上派镇", "short_name": "上派", "league_id": "", "head_name": "李四", "sort_order": "0", "is_active": "y"},
    )
    assert response.status_code == 303
    from portal.models import AuditEntry

    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "unit.update")).one()
    assert entry.before["head_name"] == "张三" and entry.after["head_name"] == "李四"
    assert "name" not in entry.after  # only what changed

"""N #5: whoever uploaded a file may remove it until the node is submitted; nobody else, and not after."""

from __future__ import annotations

import io

from sqlalchemy import select

from portal.core.extensions import db
from portal.models import AuditEntry, Evidence, Node
from tests import factories as f

PDF = b"%PDF-1.4 a wrong file"


def test_the_uploader_removes_a_wrong_file_before_submitting(app, login_as):
    unit = f.unit("上派镇")
    f.user("staff", unit=unit)
    f.user("colleague", unit=unit)
    node = f.node(f.project(lead_unit=unit), title="完成征迁交地", status="doing")
    db.session.commit()
    staff = login_as("staff")
    response = staff.post(f"/nodes/{node.id}/evidence", {"kind": "photo", "files": (io.BytesIO(PDF), "错传的.pdf")},
                          page=f"/nodes/{node.id}", content_type="multipart/form-data")
    assert response.status_code == 303
    row = db.session.scalars(select(Evidence)).one()
    page = staff.client.get(f"/nodes/{node.id}").get_data(as_text=True)
    assert f'action="/evidence/{row.id}/delete"' in page
    colleague = login_as("colleague")
    assert f'action="/evidence/{row.id}/delete"' not in colleague.client.get(f"/nodes/{node.id}").get_data(as_text=True)
    refused = colleague.post(f"/evidence/{row.id}/delete", page=f"/nodes/{node.id}")
    assert refused.status_code == 403 and "只有上传该文件的人" in refused.get_data(as_text=True)
    assert staff.post(f"/evidence/{row.id}/delete", page=f"/nodes/{node.id}").status_code == 303
    assert db.session.scalars(select(Evidence)).all() == []
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "evidence.delete")).one()
    assert entry.summary == "完成征迁交地：错传的.pdf"


def test_a_submitted_nodes_evidence_stays(app, login_as):
    unit = f.unit("上派镇")
    staff_user = f.user("staff", unit=unit)
    node = f.node(f.project(lead_unit=unit), status="doing")
    db.session.commit()
    staff = login_as("staff")
    staff.post(f"/nodes/{node.id}/evidence", {"kind": "acceptance", "files": (io.BytesIO(PDF), "验收单.pdf")},
               page=f"/nodes/{node.id}", content_type="multipart/form-data")
    row = db.session.scalars(select(Evidence)).one()
    assert row.uploaded_by_id == staff_user.id
    db.session.get(Node, node.id).status = "review"
    db.session.commit()
    assert f"/evidence/{row.id}/delete" not in staff.client.get(f"/nodes/{node.id}").get_data(as_text=True)
    refused = staff.post(f"/evidence/{row.id}/delete", page=f"/nodes/{node.id}")
    assert refused.status_code == 409 and "不能再删除" in refused.get_data(as_text=True)
    assert db.session.scalars(select(Evidence)).all() == [row]


def test_a_phone_can_take_the_photo_in_the_upload_form(app, login_as):
    unit = f.unit("上派镇")
    f.user("staff", unit=unit)
    node = f.node(f.project(lead_unit=unit), status="doing")
    db.session.commit()
    staff = login_as("staff")
    page = staff.client.get(f"/nodes/{node.id}").get_data(as_text=True)
    assert 'capture="environment"' in page and 'name="files"' in page
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    response = staff.post(f"/nodes/{node.id}/evidence", {"kind": "photo", "files": [(io.BytesIO(png), "image.png")]},
                          page=f"/nodes/{node.id}", content_type="multipart/form-data")
    assert response.status_code == 303 and db.session.scalars(select(Evidence)).one().original_name == "image.png"


def test_each_file_of_a_batch_gets_its_own_type(app, login_as):
    """One material type per file: a batch goes up under one type, then each file's type is set by its uploader."""
    unit = f.unit("上派镇")
    f.user("staff", unit=unit)
    f.user("colleague", unit=unit)
    node = f.node(f.project(lead_unit=unit), title="完成征迁交地", status="doing")
    db.session.commit()
    staff = login_as("staff")
    staff.post(f"/nodes/{node.id}/evidence", {"kind": "photo", "files": [(io.BytesIO(PDF), "现场.pdf"),
                                                                           (io.BytesIO(PDF), "交地确认书.pdf")]},
               page=f"/nodes/{node.id}", content_type="multipart/form-data")
    photo, deed = db.session.scalars(select(Evidence).order_by(Evidence.id)).all()
    assert (photo.kind, deed.kind) == ("photo", "photo")
    page = staff.client.get(f"/nodes/{node.id}").get_data(as_text=True)
    assert page.count('<span class="tag evidence-kind">现场照片</span>') == 2
    assert f'action="/evidence/{deed.id}/kind"' in page
    assert staff.post(f"/evidence/{deed.id}/kind", {"kind": "acceptance"}, page=f"/nodes/{node.id}").status_code == 303
    db.session.expire_all()
    assert (db.session.get(Evidence, photo.id).kind, db.session.get(Evidence, deed.id).kind) == ("photo", "acceptance")
    page = staff.client.get(f"/nodes/{node.id}").get_data(as_text=True)
    assert "已更改材料类型" in page and '<span class="tag evidence-kind">验收材料</span>' in page
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "evidence.kind")).one()
    assert (entry.before, entry.after) == ({"kind": "photo"}, {"kind": "acceptance"})
    # Not someone else's file, not an unknown type, not after submission.
    colleague = login_as("colleague")
    assert colleague.post(f"/evidence/{deed.id}/kind", {"kind": "other"}, page=f"/nodes/{node.id}").status_code == 403
    bad = staff.post(f"/evidence/{deed.id}/kind", {"kind": "<script>"}, page=f"/nodes/{node.id}")
    assert bad.status_code == 422 and "请从列表中选择类型" in bad.get_data(as_text=True)
    db.session.get(Node, node.id).status = "review"
    db.session.commit()
    late = staff.post(f"/evidence/{deed.id}/kind", {"kind": "other"}, page=f"/nodes/{node.id}")
    assert late.status_code == 409
    db.session.expire_all()
    assert db.session.get(Evidence, deed.id).kind == "acceptance"

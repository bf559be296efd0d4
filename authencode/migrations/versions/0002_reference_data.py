"""reference data: the scheme's service types and rights codes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE_TYPES = [
    (
        "PG0060001",
        "เข้ารับบริการรักษาทั่วไป (OPD/ IPD/ PP)",
        "General treatment (OPD/IPD/PP)",
        "OPD/IPD/PP",
    ),
    ("PG0080001", "การดูแลรักษาในชุมชน (Community Isolation)", "Community Isolation", "IPD"),
    ("PG0090001", "การดูแลรักษาในที่พัก (Home Isolation)", "Home Isolation", "IPD"),
    ("PG0110001", "Self Isolation", "Self Isolation", "OPD"),
    ("PG0120001", "UCEP PLUS (ผู้ป่วยกลุ่มอาการสีเหลืองและสีแดง)", "UCEP PLUS (yellow/red triage)", "IPD"),
    ("PG0130001", "บริการฟอกเลือดด้วยเครื่องไตเทียม (HD)", "Haemodialysis (HD)", "OPD"),
    ("PG0150001", "บริการดูแลอาการเจ็บป่วยเบื้องต้น", "Common illnesses", "OPD"),
]

MAIN_RIGHTS = [
    ("UCS", "สิทธิหลักประกันสุขภาพแห่งชาติ", "Universal coverage"),
    (
        "WEL",
        "สิทธิหลักประกันสุขภาพแห่งชาติ (ยกเว้นการร่วมจ่ายค่าบริการ 30 บาท)",
        "Universal coverage (co-payment exempt)",
    ),
    ("DIS", "สิทธิหลักประกันสุขภาพแห่งชาติ (ผู้พิการ)", "Universal coverage (disability)"),
    ("OFC", "สิทธิสวัสดิการการรักษาพยาบาลของข้าราชการ", "Civil servants"),
    ("LGO", "สิทธิสวัสดิการการรักษาพยาบาลขององค์กรปกครองส่วนท้องถิ่น", "Local government officers"),
    ("SSS", "สิทธิประกันสังคม", "Social security"),
    ("SSI", "สิทธิประกันสังคมกรณีทุพพลภาพ", "Social security (invalidity)"),
    ("PVT", "สิทธิครูเอกชน", "Private school teachers"),
    ("BKK", "สิทธิพนักงานกรุงเทพมหานคร", "Bangkok Metropolitan staff"),
    ("OTH", "สิทธิอื่น ๆ", "Other"),
]

SUB_RIGHTS = [
    ("71", "ผู้มีรายได้น้อย", "Low income"),
    ("73", "เด็กอายุไม่เกิน 12 ปีบริบูรณ์", "Children up to 12"),
    ("74", "ผู้มีอายุเกิน 60 ปีบริบูรณ์", "Aged over 60"),
    ("75", "ผู้พิการ", "Persons with disabilities"),
    ("76", "ทหารผ่านศึก", "Veterans"),
    ("77", "ภิกษุ/ผู้นำศาสนา", "Monks and religious leaders"),
    ("89", "ช่วงอายุ 12-59 ปี", "Aged 12-59"),
]


def upgrade() -> None:
    service_types = sa.table(
        "service_types",
        sa.column("code", sa.String),
        sa.column("name_th", sa.String),
        sa.column("name_en", sa.String),
        sa.column("group", sa.String),
        sa.column("active", sa.Boolean),
    )
    op.bulk_insert(
        service_types,
        [
            {"code": c, "name_th": th, "name_en": en, "group": g, "active": True}
            for c, th, en, g in SERVICE_TYPES
        ],
    )
    rights = sa.table(
        "rights",
        sa.column("kind", sa.String),
        sa.column("code", sa.String),
        sa.column("name_th", sa.String),
        sa.column("name_en", sa.String),
    )
    op.bulk_insert(
        rights,
        [{"kind": "main", "code": c, "name_th": th, "name_en": en} for c, th, en in MAIN_RIGHTS]
        + [{"kind": "sub", "code": c, "name_th": th, "name_en": en} for c, th, en in SUB_RIGHTS],
    )


def downgrade() -> None:
    op.execute("DELETE FROM rights")
    op.execute("DELETE FROM service_types")

"""programmes: the F-3 objective in the letters of the Cerfa 10443 (six lines, a to f)

Revision 0018 stored seven letters a to g whose 'e' ("Autres") is, on the real form, "Bilans de compétences".
The stored letters become the official ones:

  old a (RNCP)                          -> a
  old b (Certificat de qualification professionnelle, CQP)
                                        -> c (CQP non enregistré au RNCP ou au RS: the old label did not say
                                             the CQP was registered, and registered titles were old a)
  old c (répertoire spécifique, RS)     -> b
  old d (CQP sans niveau de qualification) -> a (one of the "dont" lines of a on the form)
  old e (autres formations professionnelles) -> d
  old f (bilans de compétences)         -> e
  old g (accompagnement à la VAE)       -> f

and the column's default becomes 'd' (autres formations professionnelles). The downgrade maps back (a CQP sans
niveau becomes an old a: the new lettering no longer tells them apart).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-23 16:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

UPGRADE = {"a": "a", "b": "c", "c": "b", "d": "a", "e": "d", "f": "e", "g": "f"}
DOWNGRADE = {"a": "a", "b": "c", "c": "b", "d": "e", "e": "f", "f": "g"}


def _remap(mapping: dict[str, str], default: str) -> None:
    """Every letter at once (one UPDATE with a CASE), so that no value is mapped twice."""
    cases = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in mapping.items())
    op.execute(f"UPDATE programmes SET bpf_objective = CASE bpf_objective {cases} ELSE '{default}' END")
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.alter_column('bpf_objective', existing_type=sa.String(length=1), existing_nullable=False,
                              server_default=default)


def upgrade():
    _remap(UPGRADE, 'd')


def downgrade():
    _remap(DOWNGRADE, 'e')

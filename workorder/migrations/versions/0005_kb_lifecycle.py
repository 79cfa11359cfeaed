"""knowledge base: lifecycle (draft, reviewed, published, archived), versions with their
reviewer and publisher, expiry date, and the segmented-word index (BM25 over jieba words)

Revision ID: 0005_kb_lifecycle
Revises: 0003_users
Create Date: 2026-12-01 09:00:00

The entries already there were live: they become published (their newest version).
``valid_to`` becomes ``expires_on``, the local date it fell on.  The words of each entry are
segmented here once (workorder/kb_text.py); later they are kept by the store on publish.
SQLite: FTS5 table ``kb_fts_terms`` (unicode61 over the space-joined words) kept by triggers.
PostgreSQL: a GIN index over ``array_to_tsvector`` of the same words (no parser, no stemming).
"""
from datetime import UTC, datetime, time

import sqlalchemy as sa
from alembic import op

revision = '0005_kb_lifecycle'
down_revision = '0004_page_indexes'
branch_labels = None
depends_on = None

TERMS = "(tok_title || ' ' || tok_keywords || ' ' || tok_body)"
PG_TSV = f"array_to_tsvector(array_remove(string_to_array({TERMS}, ' '), ''))"


def upgrade() -> None:
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False, server_default='draft'))
        batch_op.add_column(sa.Column('published_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tok_title', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tok_keywords', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tok_body', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tok_len', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_kb_articles_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_articles_department'), ['department'], unique=False)
    with op.batch_alter_table('kb_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('expires_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False, server_default='published'))
        batch_op.add_column(sa.Column('reviewed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('published_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))
    _backfill()
    # valid_to moved to expires_on (a plain ALTER TABLE: a batch copy would drop the kb_fts triggers)
    op.drop_column('kb_articles', 'valid_to')
    _index_up()


def _backfill() -> None:
    from hotline.settings import local_zone
    from workorder.kb_index import fields

    bind = op.get_bind()
    a = sa.table('kb_articles', sa.column('id', sa.Integer), sa.column('title', sa.String), sa.column('body', sa.Text),
                 sa.column('tags', sa.JSON), sa.column('version', sa.Integer), sa.column('valid_to', sa.DateTime),
                 sa.column('department', sa.String), sa.column('expires_on', sa.Date), sa.column('status', sa.String),
                 sa.column('published_version', sa.Integer), sa.column('tok_title', sa.Text),
                 sa.column('tok_keywords', sa.Text), sa.column('tok_body', sa.Text), sa.column('tok_len', sa.Integer))
    v = sa.table('kb_versions', sa.column('article_id', sa.Integer), sa.column('department', sa.String),
                 sa.column('expires_on', sa.Date))
    zone = local_zone()
    for row in bind.execute(sa.select(a.c.id, a.c.title, a.c.body, a.c.tags, a.c.version, a.c.valid_to,
                                      a.c.department)).all():
        until = row.valid_to
        if isinstance(until, str):
            until = datetime.fromisoformat(until)
        expires = None
        if until is not None:
            until = until.replace(tzinfo=UTC) if until.tzinfo is None else until
            expires = until.astimezone(zone).date()
        bind.execute(a.update().where(a.c.id == row.id).values(
            expires_on=expires, status='published', published_version=row.version,
            **fields(row.title, row.body, list(row.tags or []))))
        bind.execute(v.update().where(v.c.article_id == row.id).values(department=row.department, expires_on=expires))


def _index_up() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE kb_fts_terms USING fts5(terms, tokenize='unicode61 remove_diacritics 0')")
        op.execute(f"""CREATE TRIGGER kb_fts_terms_ai AFTER INSERT ON kb_articles BEGIN
            INSERT INTO kb_fts_terms(rowid, terms) VALUES (new.id, {TERMS.replace('tok_', 'new.tok_')}); END""")
        op.execute(f"""CREATE TRIGGER kb_fts_terms_au AFTER UPDATE OF tok_title, tok_keywords, tok_body ON kb_articles
            BEGIN DELETE FROM kb_fts_terms WHERE rowid = old.id;
            INSERT INTO kb_fts_terms(rowid, terms) VALUES (new.id, {TERMS.replace('tok_', 'new.tok_')}); END""")
        op.execute("""CREATE TRIGGER kb_fts_terms_ad AFTER DELETE ON kb_articles BEGIN
            DELETE FROM kb_fts_terms WHERE rowid = old.id; END""")
        op.execute(f"INSERT INTO kb_fts_terms(rowid, terms) SELECT id, {TERMS} FROM kb_articles")
    elif bind.dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_kb_terms ON kb_articles USING gin (({PG_TSV}))")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for t in ("kb_fts_terms_ai", "kb_fts_terms_au", "kb_fts_terms_ad"):
            op.execute(f"DROP TRIGGER IF EXISTS {t}")
        op.execute("DROP TABLE IF EXISTS kb_fts_terms")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_kb_terms")
    op.add_column('kb_articles', sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True))
    from hotline.settings import local_zone

    zone = local_zone()
    a = sa.table('kb_articles', sa.column('id', sa.Integer), sa.column('expires_on', sa.Date),
                 sa.column('valid_to', sa.DateTime(timezone=True)))
    for row in bind.execute(sa.select(a.c.id, a.c.expires_on).where(a.c.expires_on.is_not(None))).all():
        day = row.expires_on if not isinstance(row.expires_on, str) else datetime.fromisoformat(row.expires_on).date()
        until = datetime.combine(day, time(0), zone).astimezone(UTC)
        if bind.dialect.name == "sqlite":
            until = until.replace(tzinfo=None)
        bind.execute(a.update().where(a.c.id == row.id).values(valid_to=until))
    for col in ('published_at', 'published_by', 'reviewed_at', 'reviewed_by', 'status', 'expires_on', 'department'):
        op.drop_column('kb_versions', col)
    op.drop_index(op.f('ix_kb_articles_department'), table_name='kb_articles')
    op.drop_index(op.f('ix_kb_articles_status'), table_name='kb_articles')
    for col in ('tok_len', 'tok_body', 'tok_keywords', 'tok_title', 'published_version', 'status', 'expires_on'):
        op.drop_column('kb_articles', col)

"""books: accent- and case-insensitive search, and titles sorted as readers expect

The search box matches every word of the query inside title, author and ISBN, folded
by bookshelf_fold (lower case, accents removed by the unaccent extension), so
"garcia marquez" finds "García Márquez"; a trigram GIN index (pg_trgm) serves the
LIKE '%word%' tests. unaccent() is only STABLE (its dictionary could change), so an
index needs the IMMUTABLE wrapper with the dictionary named explicitly.

The cluster's collation may be C (the local stack's is), which sorts "Ángeles" after
"Zorro": the lists sort with these ICU collations instead, one per UI language.

Revision ID: a4c6e8f0b2d4
Revises: c6e8a0b2d4f7
Create Date: 2026-11-25 19:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a4c6e8f0b2d4'
down_revision = 'c6e8a0b2d4f7'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    op.execute("CREATE COLLATION IF NOT EXISTS bookshelf_es (provider = icu, locale = 'es')")
    op.execute("CREATE COLLATION IF NOT EXISTS bookshelf_en (provider = icu, locale = 'en')")
    op.execute(
        """
        CREATE FUNCTION bookshelf_fold(text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$
        """
    )
    op.execute(
        """
        CREATE INDEX ix_books_search ON books USING gin (
            bookshelf_fold(title || ' ' || author || ' ' || coalesce(isbn, ''))
            public.gin_trgm_ops
        )
        """
    )


def downgrade():
    op.execute("DROP INDEX ix_books_search")
    op.execute("DROP FUNCTION bookshelf_fold(text)")
    op.execute("DROP COLLATION bookshelf_en")
    op.execute("DROP COLLATION bookshelf_es")
    # The extensions stay: other objects of the database may use them.

"""How PostgreSQL compresses a column's large values (TOAST), set from a migration."""

# lz4 compresses a call's transcript and messages or a webhook's body (kilobytes of JSON and text) in a fraction
# of pglz's CPU, and smaller (#12), where the server was built with it (PostgreSQL 14+, --with-lz4). Only values
# written afterwards are compressed so; older ones stay as they are, readable either way.
LZ4_AVAILABLE = "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"


def compression_set(app_label: str, model_name: str, columns: tuple[str, ...], method: str):
    """A RunPython operation's function: sets `columns` of the model's table to `method` ("lz4" or "pglz") on a
    PostgreSQL that has lz4, and does nothing elsewhere (SQLite, or a server without lz4, keeps its default)."""

    def run(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(LZ4_AVAILABLE)
            if cursor.fetchone() is None:
                return
        quote = schema_editor.quote_name
        table = quote(apps.get_model(app_label, model_name)._meta.db_table)
        alters = ", ".join(f"ALTER COLUMN {quote(column)} SET COMPRESSION {method}" for column in columns)
        schema_editor.execute(f"ALTER TABLE {table} {alters}")

    return run

"""Schema that only PostgreSQL gets (expression, covering and GIN indexes): SQLite runs without them."""

from django.db import migrations


class PostgresOnlyIndexes(migrations.operations.base.Operation):
    """Creates `indexes` ([(model name, Index)]) on PostgreSQL and does nothing elsewhere; the model state is
    left as it is, so the autodetector never sees them."""

    reversible = True

    def __init__(self, indexes):
        self.indexes = indexes

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            for model_name, index in self.indexes:
                schema_editor.add_index(to_state.apps.get_model(app_label, model_name), index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            for model_name, index in self.indexes:
                schema_editor.remove_index(from_state.apps.get_model(app_label, model_name), index)

    def describe(self):
        return "Create PostgreSQL-only indexes: " + ", ".join(index.name for _, index in self.indexes)

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from content.ids import EPOCH_MS, MAX_SEQ, compose, snowflake
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields



async def backfill_sids(apps, schema_editor) -> None:
    """Rows older than the column get ids in their own time order (tag 0; the sequence tells rows of
    one millisecond apart), so paging an existing timeline keeps its order and no two rows collide."""
    for model_name, time_field in (("Post", "published"), ("Interaction", "created_at")):
        model = apps.get_model("models", model_name)
        rows = await model.filter(sid=None).using_db(schema_editor.client).values_list("id", time_field)
        last_ms, seq = -1, 0
        for row_id, at in sorted(rows, key=lambda r: (r[1], r[0])):
            ms = max(int(at.timestamp() * 1000), EPOCH_MS)  # older posts share the epoch's first ids
            if ms > last_ms:
                last_ms, seq = ms, 0
            elif seq < MAX_SEQ:
                seq += 1
            else:
                last_ms, seq = last_ms + 1, 0
            await model.filter(id=row_id).using_db(schema_editor.client).update(sid=compose(last_ms, 0, seq))


class Migration(migrations.Migration):
    dependencies = [('models', '0004_meetings')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('login_id', fields.IntField()),
                ('key', fields.CharField(max_length=255)),
                ('post_ap_id', fields.CharField(max_length=2048)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox_idempotency_key', 'app': 'models', 'unique_together': (('login_id', 'key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Marker',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('models.LocalActor', source_field='actor_id', db_constraint=True, to_field='id', related_name='markers', on_delete=OnDelete.CASCADE)),
                ('timeline', fields.CharField(max_length=16)),
                ('last_read_id', fields.CharField(max_length=32)),
                ('version', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'actors_marker', 'app': 'models', 'unique_together': (('actor', 'timeline'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OAuthApp',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=255)),
                ('website', fields.CharField(default='', max_length=2048)),
                ('redirect_uris', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('scopes', fields.CharField(default='read', max_length=1024)),
                ('client_id', fields.CharField(unique=True, max_length=64)),
                ('secret_hash', fields.CharField(max_length=64)),
                ('owner', fields.ForeignKeyField('models.Login', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name='apps', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'actors_oauth_app', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OAuthCode',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code_hash', fields.CharField(unique=True, max_length=64)),
                ('app', fields.ForeignKeyField('models.OAuthApp', source_field='app_id', db_constraint=True, to_field='id', related_name='codes', on_delete=OnDelete.CASCADE)),
                ('login', fields.ForeignKeyField('models.Login', source_field='login_id', db_constraint=True, to_field='id', related_name='codes', on_delete=OnDelete.CASCADE)),
                ('scopes', fields.CharField(max_length=1024)),
                ('redirect_uri', fields.CharField(max_length=2048)),
                ('code_challenge', fields.CharField(default='', max_length=128)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used', fields.BooleanField(default=False)),
            ],
            options={'table': 'actors_oauth_code', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OAuthToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('refresh_hash', fields.CharField(null=True, unique=True, max_length=64)),
                ('app', fields.ForeignKeyField('models.OAuthApp', source_field='app_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('login', fields.ForeignKeyField('models.Login', source_field='login_id', null=True, db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('code', fields.ForeignKeyField('models.OAuthCode', source_field='code_id', null=True, db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.SET_NULL)),
                ('scopes', fields.CharField(max_length=1024)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'actors_oauth_token', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Interaction',
            name='sid',
            field=fields.BigIntField(null=True, default=snowflake, unique=True),
        ),
        ops.AddField(
            model_name='Post',
            name='sid',
            field=fields.BigIntField(null=True, default=snowflake, unique=True),
        ),
        ops.AddField(
            model_name='Following',
            name='notify',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='RemoteActor',
            name='locked',
            field=fields.BooleanField(default=False),
        ),
        ops.RunPython(backfill_sids, ops.RunPython.noop),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_envelope_activity_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InstanceSetting',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('value', fields.TextField(unique=False)),
            ],
            options={'table': 'actors_instance_setting', 'app': 'models', 'pk_attr': 'key'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LoginAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(db_index=True, max_length=255)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'actors_login_attempt', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Media',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('models.Post', source_field='post_id', null=True, db_constraint=True, to_field='id', related_name='media', on_delete=OnDelete.SET_NULL)),
                ('local', fields.BooleanField(default=True)),
                ('kind', fields.CharField(max_length=16)),
                ('media_type', fields.CharField(max_length=100)),
                ('file_name', fields.CharField(default='', max_length=255)),
                ('preview_name', fields.CharField(default='', max_length=255)),
                ('remote_url', fields.CharField(default='', max_length=2048)),
                ('size', fields.IntField(default=0)),
                ('width', fields.IntField(null=True)),
                ('height', fields.IntField(null=True)),
                ('description', fields.TextField(default='', unique=False)),
                ('title', fields.CharField(default='', max_length=500)),
                ('language', fields.CharField(default='', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'content_media', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=32)),
                ('actor_uri', fields.CharField(max_length=2048)),
                ('object_uri', fields.CharField(default='', max_length=2048)),
                ('activity_id', fields.CharField(null=True, unique=True, max_length=2048)),
                ('read', fields.BooleanField(default=False, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'content_notification', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='LocalActor',
            name='country',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='LocalActor',
            name='links',
            field=fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='LocalActor',
            name='sector',
            field=fields.CharField(default='', max_length=255),
        ),
        ops.AddField(
            model_name='Post',
            name='appeal',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Post',
            name='appeal_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Post',
            name='hidden',
            field=fields.BooleanField(default=False),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_web_site_media_notifications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Meeting',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.OneToOneField('models.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='meeting', on_delete=OnDelete.CASCADE)),
                ('local', fields.BooleanField(default=False, db_index=True)),
                ('uid', fields.CharField(unique=True, max_length=255)),
                ('sequence', fields.IntField(default=0)),
                ('name_map', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('start', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('end', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('timezone', fields.CharField(default='', max_length=64)),
                ('previous_start', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharField(default='scheduled', max_length=16)),
                ('kind', fields.CharField(default='other', db_index=True, max_length=16)),
                ('theme', fields.CharField(default='', max_length=255)),
                ('place_name', fields.CharField(default='', max_length=500)),
                ('address', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('online_url', fields.CharField(default='', max_length=2048)),
                ('organizers', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('capacity', fields.IntField(null=True)),
                ('join_mode', fields.CharField(default='free', max_length=16)),
                ('external_url', fields.CharField(default='', max_length=2048)),
                ('registration_opens', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('registration_closes', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('opening_announced', fields.BooleanField(default=False)),
                ('participant_count', fields.IntField(null=True)),
            ],
            options={'table': 'content_meeting', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Registration',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', db_constraint=True, to_field='id', related_name='registrations', on_delete=OnDelete.CASCADE)),
                ('local', fields.BooleanField(default=False)),
                ('via', fields.CharField(max_length=16)),
                ('actor_uri', fields.CharField(null=True, db_index=True, max_length=2048)),
                ('request_id', fields.CharField(null=True, unique=True, max_length=2048)),
                ('name', fields.CharField(default='', max_length=255)),
                ('union_name', fields.CharField(default='', max_length=255)),
                ('email', fields.CharField(default='', max_length=320)),
                ('delegates', fields.IntField(default=1)),
                ('message', fields.TextField(default='', unique=False)),
                ('state', fields.CharField(default='pending', db_index=True, max_length=16)),
                ('reason', fields.CharField(default='', max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'content_registration', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]

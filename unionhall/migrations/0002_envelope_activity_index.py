from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Envelope',
            name='activity_id',
            field=fields.CharField(db_index=True, max_length=2048),
        ),
    ]

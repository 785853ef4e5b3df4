# The audit actions of algorithm parents (algos.services).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0010_alert_liquidation'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('SIGN_IN', 'Signed in'), ('SIGN_IN_FAILED', 'Sign-in failed'), ('SIGN_OUT', 'Signed out'), ('TWO_FACTOR', 'Two-factor change'), ('ORDER_PLACED', 'Order placed'), ('ORDER_CANCEL', 'Cancel requested'), ('CANCEL_ALL', 'Cancel all'), ('KILL_SWITCH', 'Kill switch'), ('ACCOUNT_KEYS', 'Account keys changed'), ('ACCOUNT_STATE', 'Account enabled or disabled'), ('ROLE', 'Role or grant changed'), ('API_KEY', 'API key created or revoked'), ('REFUSED', 'Change refused'), ('RISK_REFUSED', 'Order refused by a risk limit'), ('TRADING_STATE', 'Trading state changed'), ('RISK_LIMITS', 'Risk limits changed'), ('FLATTEN', 'Flatten positions'), ('LEVERAGE', 'Leverage or margin mode set'), ('ALGO_START', 'Algorithm started'), ('ALGO_CHANGE', 'Algorithm parameters changed'), ('ALGO_PAUSE', 'Algorithm paused'), ('ALGO_RESUME', 'Algorithm resumed'), ('ALGO_CANCEL', 'Algorithm canceled')], db_index=True, max_length=16),
        ),
    ]

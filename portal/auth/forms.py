from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-postadress"),
        validators=[DataRequired(_l("Ange din e-postadress.")), Length(max=254)],
        filters=[lambda value: value.strip() if value else value],
    )
    password = PasswordField(
        _l("Lösenord"), validators=[DataRequired(_l("Ange ditt lösenord.")), Length(max=200)]
    )

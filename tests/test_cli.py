"""The flask commands an operator uses to set up a deployment."""

from portal.extensions import db
from portal.models import Person, Role


def _person(email):
    db.session.rollback()
    return db.session.execute(db.select(Person).where(Person.email == email)).scalar_one_or_none()


def test_init_db_is_safe_to_run_again(runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Databasen är uppdaterad." in result.output


def test_create_operator_with_generated_password(runner, auth):
    result = runner.invoke(args=["create-operator", "Ops@Example.se"])
    assert result.exit_code == 0, result.output
    password = result.output.split("Lösenord: ")[1].strip()
    operator = _person("ops@example.se")
    assert operator.role == Role.OPERATOR
    assert operator.organisation_id is None
    assert auth.login("ops@example.se", password).status_code == 302


def test_create_user_in_an_organisation(runner, make, auth):
    org = make.org()
    result = runner.invoke(
        args=[
            "create-user",
            "rektor@example.se",
            "--role",
            "principal",
            "--org",
            org.org_number.replace("-", ""),
            "--password",
            "ett-bra-lösenord",
        ]
    )
    assert result.exit_code == 0, result.output
    principal = _person("rektor@example.se")
    assert (principal.role, principal.organisation_id) == (Role.PRINCIPAL, org.id)
    assert auth.login("rektor@example.se", "ett-bra-lösenord").status_code == 302


def test_create_user_refuses_bad_input_and_saves_nothing(runner, make):
    org = make.org()
    cases = [
        (["create-user", "a@example.se", "--role", "operator", "--org", org.org_number], "role"),
        (["create-user", "a@example.se", "--role", "staff", "--org", "123"], "NNNNNN-NNNN"),
        (
            ["create-user", "a@example.se", "--role", "staff", "--org", "212000-0143"],
            "kontrollsiffra",
        ),
        (
            ["create-user", "a@example.se", "--role", "staff", "--org", "212000-0142"],
            "ingen organisation",
        ),
        (
            ["create-user", "inte-en-adress", "--role", "staff", "--org", org.org_number],
            "giltig e-postadress",
        ),
        (
            [
                "create-user",
                "a@example.se",
                "--role",
                "staff",
                "--org",
                org.org_number,
                "--password",
                "kort",
            ],
            "minst 10 tecken",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert _person("a@example.se") is None


def test_duplicate_email_is_refused(runner, make):
    existing = make.person(Role.STAFF)
    result = runner.invoke(args=["create-operator", existing.email])
    assert result.exit_code == 1
    assert "Det finns redan ett konto" in result.output

"""The CSV directory format: UTF-8 (with or without BOM), `;` or `,` between columns.

Columns, in any order (header = line 1, so data rows start at line 2 as in Excel):
external_id, role, given_name, family_name, email, mobile, school, groups,
guardian_of, terms_accepted_at, protected_identity.

- role: elev, vardnadshavare, personal, rektor or administrator
- school: the school the person belongs to (a duty for personal and rektor)
- groups: group names within `school`, separated by `|`
- guardian_of: the students' external_id, separated by `|` (vårdnadshavare only)
- terms_accepted_at: ÅÅÅÅ-MM-DD or an ISO date and time (Stockholm time unless a zone is given)
- protected_identity: ja/nej, true/false, 1/0 (empty = nej)
"""

import codecs
import csv
import io

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.directory import values
from portal.directory.records import Directory, Issue, PersonRecord
from portal.models import Role

COLUMNS = (
    "external_id",
    "role",
    "given_name",
    "family_name",
    "email",
    "mobile",
    "school",
    "groups",
    "guardian_of",
    "terms_accepted_at",
    "protected_identity",
)
ROLES = {
    "elev": Role.STUDENT,
    "vardnadshavare": Role.GUARDIAN,
    "vårdnadshavare": Role.GUARDIAN,
    "personal": Role.STAFF,
    "rektor": Role.PRINCIPAL,
    "administrator": Role.ADMIN,
    "administratör": Role.ADMIN,
}
DUTY_ROLES = (Role.STAFF, Role.PRINCIPAL)
SEPARATOR = "|"
GIVEN_NAME = _l("Förnamn (given_name)")
FAMILY_NAME = _l("Efternamn (family_name)")


def parse(content: bytes, now) -> Directory:
    directory = Directory(kind="csv")
    text = _decode(content, directory)
    if text is None:
        return directory
    header_line = text.split("\n", 1)[0]
    delimiter = _delimiter(header_line, directory)
    if delimiter is None:
        return directory
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader)]
    columns = _columns(header, directory)
    if columns is None:
        return directory
    first_line = {}
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        _row(directory, line, cells, columns, len(header), first_line, now)
    return directory


def _decode(content, directory):
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        directory.file_error = _(
            "Filen är sparad som UTF-16 (Unicode-text). Spara den som ”CSV UTF-8” i Excel."
        )
        return None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        directory.file_error = _(
            "Filen är inte UTF-8. Spara den som ”CSV UTF-8 (kommaavgränsad)” i Excel "
            "och försök igen."
        )
        return None
    if not text.strip():
        directory.file_error = _("Filen är tom.")
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _delimiter(header_line, directory):
    semicolons, commas = header_line.count(";"), header_line.count(",")
    if semicolons or commas:
        return ";" if semicolons >= commas else ","
    if "\t" in header_line:
        directory.file_error = _(
            "Kolumnerna är åtskilda med tabbar. Spara filen som CSV med semikolon eller komma."
        )
    else:
        directory.file_error = _(
            "Hittar inga kolumner på rad 1. Filen ska vara CSV med semikolon eller komma "
            "mellan kolumnerna och kolumnnamnen på första raden."
        )
    return None


def _columns(header, directory):
    """Column name → index, or None (with a file error) when columns are missing or unknown."""
    named = {name: index for index, name in enumerate(header) if name}
    missing = [name for name in COLUMNS if name not in named]
    unknown = [name for name in named if name not in COLUMNS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(_("Kolumner saknas: %(names)s.", names=", ".join(missing)))
        if unknown:
            parts.append(_("Okända kolumner: %(names)s.", names=", ".join(unknown)))
        parts.append(_("Rad 1 ska innehålla: %(names)s.", names=", ".join(COLUMNS)))
        directory.file_error = " ".join(parts)
        return None
    return named


def _row(directory, line, cells, columns, width, first_line, now):
    """Read one data row into a PersonRecord, or record why it cannot be used."""
    if len(cells) < width or any(cell.strip() for cell in cells[width:]):
        directory.errors.append(
            Issue(
                line,
                _(
                    "Raden har %(found)d kolumner men rubrikraden har %(expected)d. "
                    "Kontrollera avgränsare och citattecken.",
                    found=len(cells),
                    expected=width,
                ),
            )
        )
        return
    cell = {name: cells[index] for name, index in columns.items()}
    problems = []

    def read(parser, *args, **kwargs):
        try:
            return parser(*args, **kwargs)
        except values.Invalid as invalid:
            problems.append(str(invalid))
            return None

    external_id = read(values.plain, cell["external_id"], "external_id")
    if external_id:
        directory.seen_ids.add(external_id)
        if external_id in first_line:
            problems.append(
                _(
                    "external_id '%(id)s' finns redan på rad %(line)d.",
                    id=external_id,
                    line=first_line[external_id],
                )
            )
        else:
            first_line[external_id] = line
    protected = read(values.boolean, cell["protected_identity"], "protected_identity")
    masked = protected is not False  # unknown counts as protected in messages
    role = _role(cell["role"], problems)
    given_name = read(values.plain, cell["given_name"], GIVEN_NAME)
    family_name = read(values.plain, cell["family_name"], FAMILY_NAME)
    email = read(values.email, cell["email"], masked)
    accepted_at = read(values.accepted_at, cell["terms_accepted_at"], now, masked)
    school = read(values.plain, cell["school"], "school", required=False, max_length=200)
    groups = _split(cell["groups"])
    guardian_of = _split(cell["guardian_of"])
    if groups and not school:
        problems.append(_("Ange skolan (school) som grupperna hör till."))
    if any(len(name) > 200 for name in groups):
        problems.append(_("Ett gruppnamn är för långt (högst 200 tecken)."))
    if guardian_of and role not in (Role.GUARDIAN, None):
        problems.append(_("guardian_of anges bara för vårdnadshavare."))
    if problems:
        directory.errors.extend(Issue(line, problem) for problem in problems)
        return
    mobile, rejected = values.mobile(cell["mobile"])
    if rejected:
        directory.warnings.append(Issue(line, values.rejected_mobile_warning(rejected, protected)))
    school_key = directory.school(school) if school else None
    directory.people.append(
        PersonRecord(
            line=line,
            external_id=external_id,
            role=role,
            given_name=given_name,
            family_name=family_name,
            email=email,
            mobile=mobile,
            mobile_rejected=rejected,
            terms_accepted_at=accepted_at,
            protected_identity=protected,
            schools=[school_key] if school_key and role in DUTY_ROLES else [],
            groups=[directory.group(school_key, name) for name in groups],
            guardian_of=guardian_of,
        )
    )


def _role(value, problems):
    word = values.clean(value).casefold()
    if word in ROLES:
        return ROLES[word]
    if not word:
        problems.append(_("Roll (role) saknas."))
    else:
        problems.append(
            _(
                "Okänd roll '%(role)s'. Använd elev, vardnadshavare, personal, rektor "
                "eller administrator.",
                role=word[:50],
            )
        )
    return None


def _split(value):
    """`a|b|a` → ['a', 'b']: cleaned, empty parts dropped, first occurrence kept."""
    parts = (values.clean(part) for part in values.clean(value).split(SEPARATOR))
    return list(dict.fromkeys(part for part in parts if part))

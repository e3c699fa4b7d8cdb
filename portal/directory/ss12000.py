"""SS 12000 JSON (the Swedish standard for school data, SS 12000:2020 API format).

One JSON document with the API's objects in top-level arrays; each array may also be an
API response of its own, `{"data": [...]}`::

    {
      "organisations": [{"id": "…", "displayName": "Norrskolan", "organisationType": "Skolenhet"}],
      "persons": [{
        "id": "…", "givenName": "Elsa", "familyName": "Lind",
        "emails": [{"value": "elsa@example.se", "type": "Privat"}],
        "phoneNumbers": [{"value": "070-123 45 67", "type": "Mobil", "mobile": true}],
        "securityMarking": "Ingen",   # or "Skyddad folkbokföring", "Sekretessmarkering"
        "responsibleFor": [{"person": {"id": "…"}, "relationType": "Vårdnadshavare"}]
      }],
      "duties": [{
        "id": "…", "person": {"id": "…"}, "dutyAt": {"id": "…"}, "dutyRole": "Lärare",
        "assignmentRole": [{"group": {"id": "…"}, "assignmentRoleType": "Mentor"}]
      }],
      "groups": [{
        "id": "…", "displayName": "7A", "groupType": "Klass", "organisation": {"id": "…"},
        "groupMemberships": [{"person": {"id": "…"}, "startDate": "2025-08-15", "endDate": null}]
      }]
    }

Organisations of type "Skolenhet" become schools (School.external_id = their id), groups
of every type become groups of their school unit, and a person's `id` is their
external_id. Roles: a current duty makes a person staff ("Rektor" and the older
"Förskolechef" make them a principal); otherwise responsibleFor makes them a guardian of
those persons; otherwise a current group membership or an enrolment makes them a student.
Memberships, duties and assignment roles outside their start and end dates are left out.
civicNo (personnummer) is not read: the portal does not store it.
"""

import json
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.directory import values
from portal.directory.records import Directory, Issue, PersonRecord
from portal.models import Role

SCHOOL_UNIT = "Skolenhet"
PRINCIPAL_DUTIES = {"rektor", "förskolechef"}
PROTECTED_MARKINGS = {"skyddad folkbokföring", "sekretessmarkering"}
UNPROTECTED_MARKINGS = {"ingen", ""}
GIVEN_NAME = _l("Förnamn (givenName)")
FAMILY_NAME = _l("Efternamn (familyName)")


def parse(content: bytes, now) -> Directory:
    directory = Directory(kind="ss12000")
    document = _load(content, directory)
    if document is None:
        return directory
    today = now.astimezone(values.STOCKHOLM).date()
    lists = {name: _objects(document, name, directory) for name in _ARRAYS}
    if directory.file_error:
        return directory
    schools = _schools(lists["organisations"], directory)
    groups, memberships = _groups(lists["groups"], schools, directory, today)
    duties = _duties(lists["duties"], schools, groups, today)
    persons = {}
    for index, person in enumerate(lists["persons"], start=1):
        _person(directory, index, person, persons, duties, memberships)
    return directory


_ARRAYS = ("organisations", "persons", "duties", "groups")


def _load(content, directory):
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        directory.file_error = _("JSON-filen är inte UTF-8.")
        return None
    except json.JSONDecodeError as error:
        directory.file_error = _(
            "Filen är inte giltig JSON (rad %(line)d, kolumn %(column)d).",
            line=error.lineno,
            column=error.colno,
        )
        return None
    if not isinstance(document, dict) or "persons" not in document:
        directory.file_error = _(
            "JSON-filen ska vara ett objekt med listorna organisations, persons, duties och "
            "groups enligt SS 12000."
        )
        return None
    return document


def _objects(document, name, directory):
    """The array `name` (bare or as `{"data": [...]}`) with only its objects."""
    items = document.get(name) or []
    if isinstance(items, dict):
        items = items.get("data") or []
    if not isinstance(items, list):
        directory.file_error = _("%(name)s ska vara en lista.", name=name)
        return []
    return [item if isinstance(item, dict) else {} for item in items]


def _ref(obj, key):
    """The id of the reference `obj[key]` ({"id": …}), as text, or None."""
    ref = obj.get(key)
    if isinstance(ref, dict) and ref.get("id") not in (None, ""):
        return str(ref["id"])
    return None


def _current(obj, today):
    """False when the object's startDate is after today or its endDate before today."""
    start, end = _date(obj.get("startDate")), _date(obj.get("endDate"))
    return not ((start and start > today) or (end and end < today))


def _date(value):
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _schools(organisations, directory):
    """SS 12000 organisation id → school key, for the school units."""
    schools, names = {}, set()
    for unit in organisations:
        unit_id = unit.get("id")
        if unit.get("organisationType") != SCHOOL_UNIT or not unit_id:
            continue
        try:
            name = values.plain(unit.get("displayName"), "displayName", max_length=200)
        except values.Invalid as invalid:
            directory.errors.append(
                Issue(None, _("Skolenhet %(id)s: %(error)s", id=unit_id, error=invalid))
            )
            continue
        if name.casefold() in names:
            directory.errors.append(
                Issue(None, _("Skolenhet '%(name)s' finns två gånger i filen.", name=name))
            )
            continue
        names.add(name.casefold())
        key = directory.school(name, str(unit_id))
        directory.listed_schools.add(key)
        schools[str(unit_id)] = key
    return schools


def _groups(groups, schools, directory, today):
    """(SS 12000 group id → group key, person id → group keys) for the current groups of
    known school units."""
    found, names, memberships = {}, {}, {}
    for group in groups:
        group_id, school_id = group.get("id"), _ref(group, "organisation")
        if not group_id or not _current(group, today):
            continue
        try:
            name = values.plain(group.get("displayName"), "displayName", max_length=200)
        except values.Invalid as invalid:
            directory.errors.append(
                Issue(None, _("Grupp %(id)s: %(error)s", id=group_id, error=invalid))
            )
            continue
        if school_id not in schools:
            directory.errors.append(
                Issue(
                    None,
                    _(
                        "Grupp '%(name)s': skolenheten %(school)s finns inte bland "
                        "organisations (organisationType Skolenhet).",
                        name=name,
                        school=school_id or "–",
                    ),
                )
            )
            continue
        same_name = (school_id, name.casefold())
        if same_name in names:
            directory.errors.append(
                Issue(
                    None,
                    _(
                        "Grupp '%(name)s' (%(id)s): en annan grupp på samma skolenhet har "
                        "samma namn.",
                        name=name,
                        id=group_id,
                    ),
                )
            )
            continue
        names[same_name] = group_id
        key = directory.group(schools[school_id], name, str(group_id))
        directory.listed_groups.add(key)
        found[str(group_id)] = key
        for membership in group.get("groupMemberships") or []:
            member = _ref(membership, "person") if isinstance(membership, dict) else None
            if member and _current(membership, today):
                memberships.setdefault(member, []).append(key)
    return found, memberships


def _duties(duties, schools, groups, today):
    """Person id → (is principal, school keys, group keys) from their current duties."""
    found = {}
    for duty in duties:
        person_id, school_id = _ref(duty, "person"), _ref(duty, "dutyAt")
        if not person_id or not _current(duty, today):
            continue
        principal, school_keys, group_keys = found.setdefault(person_id, (False, [], []))
        if school_id in schools:
            school_keys.append(schools[school_id])
        for assignment in duty.get("assignmentRole") or []:
            group_id = _ref(assignment, "group") if isinstance(assignment, dict) else None
            if group_id in groups and _current(assignment, today):
                group_keys.append(groups[group_id])
        role = str(duty.get("dutyRole") or "").casefold()
        found[person_id] = (principal or role in PRINCIPAL_DUTIES, school_keys, group_keys)
    return found


def _person(directory, index, person, persons, duties, memberships):
    """Read one SS 12000 person into a PersonRecord, or record why it cannot be used."""
    problems = []
    person_id = str(person.get("id") or "")
    if not person_id:
        problems.append(_("Personen saknar id."))
    elif person_id in persons:
        problems.append(
            _("id %(id)s finns redan (person %(index)d).", id=person_id, index=persons[person_id])
        )
    else:
        persons[person_id] = index
        directory.seen_ids.add(person_id)
    marking = str(person.get("securityMarking") or "").casefold()
    protected = marking in PROTECTED_MARKINGS
    if not protected and marking not in UNPROTECTED_MARKINGS:
        protected = True
        problems.append(
            _(
                "securityMarking '%(value)s' är okänd (Ingen, Sekretessmarkering eller "
                "Skyddad folkbokföring).",
                value=marking[:50],
            )
        )

    def read(parser, *args, **kwargs):
        try:
            return parser(*args, **kwargs)
        except values.Invalid as invalid:
            problems.append(str(invalid))
            return None

    given_name = read(values.plain, person.get("givenName"), GIVEN_NAME)
    family_name = read(values.plain, person.get("familyName"), FAMILY_NAME)
    email = read(values.email, _first_email(person), protected)
    children = [
        child
        for child in (
            _ref(item, "person")
            for item in person.get("responsibleFor") or []
            if isinstance(item, dict)
        )
        if child
    ]
    member_of = memberships.get(person_id, [])
    role, schools, staff_groups = _role(person, person_id, duties, children, member_of)
    if role is None:
        problems.append(
            _(
                "Personen har ingen tjänst (duty), inga elever (responsibleFor) och ingen "
                "grupp; rollen går inte att avgöra."
            )
        )
    if problems:
        directory.errors.extend(Issue(index, problem) for problem in problems)
        return
    mobile, rejected = values.mobile(_mobile_number(person))
    if rejected:
        directory.warnings.append(Issue(index, values.rejected_mobile_warning(rejected, protected)))
    directory.people.append(
        PersonRecord(
            line=index,
            external_id=person_id,
            role=role,
            given_name=given_name,
            family_name=family_name,
            email=email,
            mobile=mobile,
            mobile_rejected=rejected,
            protected_identity=protected,
            schools=list(dict.fromkeys(schools)),
            groups=list(dict.fromkeys(member_of + staff_groups)),
            guardian_of=list(dict.fromkeys(children)) if role == Role.GUARDIAN else [],
        )
    )


def _role(person, person_id, duties, children, member_of):
    """(role, duty school keys, assignment group keys); role None when nothing tells."""
    if person_id in duties:
        principal, schools, staff_groups = duties[person_id]
        return (Role.PRINCIPAL if principal else Role.STAFF), schools, staff_groups
    if children:
        return Role.GUARDIAN, [], []
    if member_of or person.get("enrolments"):
        return Role.STUDENT, [], []
    return None, [], []


def _first_email(person):
    for item in person.get("emails") or []:
        if isinstance(item, dict) and item.get("value"):
            return item["value"]
    return None


def _mobile_number(person):
    """The number marked mobile, else one of type Mobil, else the first one."""
    numbers = [
        item
        for item in person.get("phoneNumbers") or []
        if isinstance(item, dict) and item.get("value")
    ]
    for test in (
        lambda n: n.get("mobile") is True,
        lambda n: str(n.get("type", "")).casefold() == "mobil",
        lambda n: True,
    ):
        for number in numbers:
            if test(number):
                return str(number["value"])
    return None

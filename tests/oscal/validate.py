#!/usr/bin/python3
"""Validate a JSON document against a JSON Schema, offline.

Usage: validate.py SCHEMA DOCUMENT

Written for NIST's OSCAL "complete" schema (draft-07), whose patterns use
Unicode property escapes (\\p{L}, \\p{N}) that Python's `re` cannot compile:
"pattern", "patternProperties" and "additionalProperties" here use the
`regex` module, with the ECMA-262 meaning of `.`, `$`, \\d, \\w and \\s that
JSON Schema specifies. The formats date-time, date (RFC 3339), uri,
uri-reference (RFC 3986), email (RFC 5322 addr-spec) and regex are checked
for real; `$ref`s resolve only inside the schema (no network).

Exit status: 0 valid; 1 invalid (every error printed on stderr with its
JSON path); 2 usage error, or a schema or file that cannot be used.
Needs Debian's python3-jsonschema and python3-regex (run with /usr/bin/python3).
"""

import datetime
import functools
import ipaddress
import json
import re
import sys

try:
    import jsonschema
    import jsonschema.validators
    import regex
    from jsonschema.exceptions import RefResolutionError, ValidationError
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        "validate.py: %s; install Debian's python3-jsonschema and "
        "python3-regex and run with /usr/bin/python3\n" % e)
    sys.exit(2)

USAGE = "usage: validate.py SCHEMA DOCUMENT\n"
PROG = "validate.py"

# --- Patterns: ECMA-262 semantics on the `regex` module ---------------------

# ECMA-262 WhiteSpace and LineTerminator (what \s matches there).
_ECMA_SPACE = (r"\t\n\x0b\f\r \xa0\u1680\u2000-\u200a\u2028\u2029"
               r"\u202f\u205f\u3000\ufeff")
_ECMA_LINE_TERMINATORS = r"\n\r\u2028\u2029"
_CLASS_ESCAPES = {"d": "0-9", "w": "A-Za-z0-9_", "s": _ECMA_SPACE}


def ecma_to_regex(pattern):
    """Rewrites an ECMA-262 pattern so `regex` gives it the same meaning.

    Outside character classes: `.` excludes every line terminator, `$` is the
    end of input only (Python's also matches before a final newline), and
    \\d \\w \\s (and negations) are ECMA's ASCII/whitespace sets. Inside a
    class \\d \\w \\s are expanded; \\p{..} passes through unchanged.
    """
    out = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if e.lower() in _CLASS_ESCAPES:
                body = _CLASS_ESCAPES[e.lower()]
                if in_class:
                    # A negated escape inside a class keeps Python's meaning
                    # (no ECMA-exact form without set operations).
                    out.append(body if e.islower() else pattern[i:i + 2])
                else:
                    out.append(("[%s]" if e.islower() else "[^%s]") % body)
                i += 2
                continue
            if e in "pP" and i + 2 < n and pattern[i + 2] == "{":
                end = pattern.find("}", i + 3)
                if end < 0:
                    raise regex.error("unterminated \\%s{" % e)
                out.append(pattern[i:end + 1])
                i = end + 1
                continue
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append(c)
        elif c == "[":
            # ECMA: "[]" matches nothing and "[^]" any character; in Python a
            # leading "]" would be a literal.
            if pattern.startswith("[]", i):
                out.append("(?!)")
                i += 2
                continue
            if pattern.startswith("[^]", i):
                out.append(r"[\s\S]")
                i += 3
                continue
            in_class = True
            out.append(c)
            if pattern.startswith("[^", i):
                out.append("^")
                i += 1
        elif c == ".":
            out.append("[^%s]" % _ECMA_LINE_TERMINATORS)
        elif c == "$":
            out.append(r"\Z")
        else:
            out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=None)
def compile_pattern(pattern):
    return regex.compile(ecma_to_regex(pattern))


def _short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not compile_pattern(
            pattern).search(instance):
        yield ValidationError("%s does not match %r" %
                              (_short(instance), pattern))


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        compiled = compile_pattern(pattern)
        for key, value in instance.items():
            if compiled.search(key):
                yield from validator.descend(value, subschema, path=key,
                                             schema_path=pattern)


def _additional(instance, schema):
    properties = schema.get("properties", {})
    patterns = [compile_pattern(p) for p in schema.get("patternProperties", {})]
    for key in instance:
        if key in properties or any(p.search(key) for p in patterns):
            continue
        yield key


def _additional_properties(validator, additional, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    extras = sorted(_additional(instance, schema))
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional,
                                         path=extra)
    elif not additional and extras:
        yield ValidationError(
            "additional properties are not allowed (%s unexpected)" %
            ", ".join(repr(e) for e in extras))


# --- Formats -----------------------------------------------------------------

_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(\.[0-9]+)?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def _valid_date(year, month, day):
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def is_date(text):
    """RFC 3339 full-date."""
    m = _DATE.fullmatch(text)
    return bool(m) and _valid_date(*(int(g) for g in m.groups()))


def is_date_time(text):
    """RFC 3339 date-time (section 5.6), leap second only at 23:59:60 UTC."""
    m = _DATE_TIME.fullmatch(text)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not _valid_date(year, month, day):
        return False
    offset = 0
    if not m.group(8):
        off_hour, off_minute = int(m.group(10)), int(m.group(11))
        if off_hour > 23 or off_minute > 59:
            return False
        offset = (off_hour * 60 + off_minute) * (1 if m.group(9) == "+" else -1)
    if hour > 23 or minute > 59 or second > 60:
        return False
    if second == 60 and (hour * 60 + minute - offset) % 1440 != 23 * 60 + 59:
        return False
    return True


# RFC 3986, Appendix A.
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = r"(?:[%s%s:@]|%s)" % (_UNRESERVED, _SUB_DELIMS, _PCT)
_SEGMENT = r"%s*" % _PCHAR
_SEGMENT_NZ = r"%s+" % _PCHAR
_SEGMENT_NZ_NC = r"(?:[%s%s@]|%s)+" % (_UNRESERVED, _SUB_DELIMS, _PCT)
_QUERY = r"(?:%s|[/?])*" % _PCHAR
_USERINFO = r"(?:[%s%s:]|%s)*" % (_UNRESERVED, _SUB_DELIMS, _PCT)
_IP_LITERAL = r"\[(?P<ip>[^\]/?#@\[]*)\]"
_REG_NAME = r"(?:[%s%s]|%s)*" % (_UNRESERVED, _SUB_DELIMS, _PCT)
_AUTHORITY = r"(?:%s@)?(?:%s|%s)(?::[0-9]*)?" % (_USERINFO, _IP_LITERAL,
                                                 _REG_NAME)
_PATH_ABEMPTY = r"(?:/%s)*" % _SEGMENT
_PATH_ABSOLUTE = r"/(?:%s(?:/%s)*)?" % (_SEGMENT_NZ, _SEGMENT)
_PATH_ROOTLESS = r"%s(?:/%s)*" % (_SEGMENT_NZ, _SEGMENT)
_PATH_NOSCHEME = r"%s(?:/%s)*" % (_SEGMENT_NZ_NC, _SEGMENT)
_TAIL = r"(?:\?%s)?(?:#%s)?" % (_QUERY, _QUERY)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:(?://%s%s|%s|%s|)%s" %
                  (_AUTHORITY, _PATH_ABEMPTY, _PATH_ABSOLUTE, _PATH_ROOTLESS,
                   _TAIL))
_RELATIVE_REF = re.compile(r"(?://%s%s|%s|%s|)%s" %
                           (_AUTHORITY, _PATH_ABEMPTY, _PATH_ABSOLUTE,
                            _PATH_NOSCHEME, _TAIL))
_IPV_FUTURE = re.compile(r"[vV][0-9A-Fa-f]+\.[%s%s:]+" %
                         (_UNRESERVED, _SUB_DELIMS))


def _ip_literal_ok(match):
    literal = match.group("ip")
    if literal is None:
        return True
    if _IPV_FUTURE.fullmatch(literal):
        return True
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return "%" not in literal  # zone ids are not RFC 3986


def is_uri(text):
    """RFC 3986 URI: a scheme is required; ASCII only."""
    m = _URI.fullmatch(text)
    return bool(m) and _ip_literal_ok(m)


def is_uri_reference(text):
    """RFC 3986 URI-reference: a URI or a relative reference."""
    if is_uri(text):
        return True
    m = _RELATIVE_REF.fullmatch(text)
    return bool(m) and _ip_literal_ok(m)


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]"
_DOT_ATOM = r"%s+(?:\.%s+)*" % (_ATEXT, _ATEXT)
_QUOTED = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(r"(?P<local>%s|%s)@(?:(?P<host>%s(?:\.%s)*)|\[(?P<lit>[^\]]+)\])"
                    % (_DOT_ATOM, _QUOTED, _LABEL, _LABEL))


def is_email(text):
    """RFC 5322 addr-spec without comments or folding whitespace."""
    m = _EMAIL.fullmatch(text)
    if not m or len(m.group("local")) > 64 or len(text) > 254:
        return False
    literal = m.group("lit")
    if literal is None:
        return len(m.group("host")) <= 253
    try:
        if literal.lower().startswith("ipv6:"):
            ipaddress.IPv6Address(literal[5:])
        else:
            ipaddress.IPv4Address(literal)
    except ValueError:
        return False
    return True


def is_regex(text):
    try:
        compile_pattern(text)
    except regex.error:
        return False
    return True


def format_checker():
    checker = jsonschema.FormatChecker(formats=())
    for name, check in (("date-time", is_date_time), ("date", is_date),
                        ("uri", is_uri), ("uri-reference", is_uri_reference),
                        ("email", is_email), ("regex", is_regex)):
        checker.checks(name)(check)
    return checker


# --- Schema and document -----------------------------------------------------


class OfflineResolver(jsonschema.RefResolver):
    """Resolves $refs inside the schema (and the bundled meta-schemas) only."""

    def resolve_remote(self, uri):
        raise RefResolutionError("%s: not in the schema (no network access)" %
                                 uri)


class UsageError(Exception):
    pass


class DocumentError(Exception):
    pass


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise DocumentError("duplicate key %r" % key)
        obj[key] = value
    return obj


def _no_constant(name):
    raise DocumentError("%s is not JSON" % name)


def load_json(path, error):
    """Parses `path` strictly (UTF-8, no duplicate keys, no NaN); a file
    that cannot be read is a UsageError, one that is not JSON `error`."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError("%s: %s" % (path, e.strerror or e))
    where = "%s: " % path if error is UsageError else ""
    try:
        return json.loads(data.decode("utf-8"),
                          object_pairs_hook=_no_duplicates,
                          parse_constant=_no_constant)
    except UnicodeDecodeError as e:
        raise error("%snot UTF-8: %s" % (where, e))
    except (ValueError, DocumentError) as e:
        raise error("%snot valid JSON: %s" % (where, e))


def _walk_patterns(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties" and isinstance(value, dict):
                yield from value
            yield from _walk_patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_patterns(item)


def make_validator(schema):
    base = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft7Validator)
    try:
        base.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        raise UsageError("schema is not a valid %s schema: %s at %s" %
                         (base.__name__, e.message, json_path(e.absolute_path)))
    for pattern in _walk_patterns(schema):
        try:
            compile_pattern(pattern)
        except regex.error as e:
            raise UsageError("schema pattern %r does not compile: %s" %
                             (pattern, e))
    cls = jsonschema.validators.extend(
        base, {
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties,
        })
    resolver = OfflineResolver.from_schema(schema, id_of=cls.ID_OF)
    return cls(schema, resolver=resolver, format_checker=format_checker())


# --- Reporting -----------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


def json_path(path):
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += "[%d]" % part
        elif _IDENTIFIER.fullmatch(part):
            out += "." + part
        else:
            out += "[%s]" % json.dumps(part)
    return out


# Errors that mean a oneOf/anyOf branch does not describe the instance at all.
_MISFIT = {"required", "additionalProperties", "type", "enum", "const"}


def leaf_errors(error):
    """The errors worth reading behind `error`.

    A failed oneOf/anyOf reports every branch; branches that do not fit the
    instance itself (a wrong type, a required property of another model)
    are dropped, and the errors of the rest are reported instead. When no
    branch fits, the oneOf/anyOf error itself is.
    """
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    kept = []
    for subs in branches.values():
        if any(s.validator in _MISFIT and not s.relative_path for s in subs):
            continue
        for sub in subs:
            kept.extend(leaf_errors(sub))
    return kept or [error]


def _message(error):
    text = error.message
    return text if len(text) <= 400 else text[:400] + "..."


def validate(schema_path, document_path):
    """Returns the lines to report; an empty list means valid."""
    schema = load_json(schema_path, UsageError)
    validator = make_validator(schema)
    try:
        document = load_json(document_path, DocumentError)
    except DocumentError as e:
        return [str(e)]
    try:
        errors = list(validator.iter_errors(document))
    except RefResolutionError as e:
        raise UsageError("schema: %s" % e)
    lines = set()
    for error in errors:
        for leaf in leaf_errors(error):
            lines.add((json_path(leaf.absolute_path), _message(leaf)))
    return ["%s: %s" % line for line in sorted(lines)]


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        sys.stdout.write(__doc__.lstrip())
        return 0
    if len(argv) != 3:
        sys.stderr.write(USAGE)
        return 2
    try:
        problems = validate(argv[1], argv[2])
    except UsageError as e:
        sys.stderr.write("%s: %s\n" % (PROG, e))
        return 2
    if problems:
        for line in problems:
            sys.stderr.write("%s: %s\n" % (argv[2], line))
        sys.stderr.write("%s: %d error(s)\n" % (argv[2], len(problems)))
        return 1
    sys.stdout.write("%s: valid\n" % argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

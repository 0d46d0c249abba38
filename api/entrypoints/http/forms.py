"""``multipart/form-data`` bodies (``curl -F``), read with the standard library's MIME parser.

The service takes one form: a policy file uploaded with its cases file beside it. A part is
kept with its file name, so a published policy is cited as the file it was (``standard.yaml:42``).
"""

from __future__ import annotations

import email.errors
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser

from api.errors import InvalidRequest

__all__ = ["FORM_DATA", "FormPart", "read_form"]

FORM_DATA = "multipart/form-data"


@dataclass(frozen=True)
class FormPart:
    """One field of a form: its content and, for an uploaded file, the file's name."""

    filename: str | None
    content: bytes


def read_form(content_type: str, raw: bytes) -> dict[str, FormPart]:
    """The fields of a ``multipart/form-data`` body by name (a repeated name keeps its first part)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    unreadable = InvalidRequest("the form could not be read: send it as multipart/form-data (curl -F)")
    try:
        message = BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
        if not isinstance(message, EmailMessage) or not message.is_multipart():
            raise unreadable
        fields: dict[str, FormPart] = {}
        for part in message.iter_parts():
            if not isinstance(part, EmailMessage):
                continue
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes) and name not in fields:
                fields[name] = FormPart(part.get_filename(), payload)
    except (ValueError, LookupError, TypeError, IndexError, email.errors.MessageError):
        # A malformed header or an unknown charset in a part: the parser is lenient, its helpers are not.
        raise unreadable from None
    return fields

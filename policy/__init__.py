"""The policy language: YAML policy files, their validation, versions, diffs and JSON Schema.

Load a policy with :func:`load_policy` / :func:`load_policy_file`; every problem comes back at
once as :class:`PolicyInvalid` with located :class:`Issue` objects.
"""

from policy.checks import CheckContext, run_checks
from policy.diff import Change, PolicyDiff, diff_policies
from policy.errors import ExpressionError, Issue, PolicyError, PolicyInvalid, format_path
from policy.jsonschema import policy_json_schema
from policy.loader import LoadedDocument, load_document
from policy.schema import Policy
from policy.validate import FileReport, LoadedPolicy, load_policy, load_policy_file, validate_file
from policy.versioning import canonical_form, canonical_json, content_hash

__all__ = [
    "Change",
    "CheckContext",
    "ExpressionError",
    "FileReport",
    "Issue",
    "LoadedDocument",
    "LoadedPolicy",
    "Policy",
    "PolicyError",
    "PolicyDiff",
    "PolicyInvalid",
    "canonical_form",
    "canonical_json",
    "content_hash",
    "diff_policies",
    "format_path",
    "load_document",
    "load_policy",
    "load_policy_file",
    "policy_json_schema",
    "run_checks",
    "validate_file",
]

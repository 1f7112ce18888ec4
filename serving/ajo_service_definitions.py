"""What this service tells Adobe Journey Optimizer B2B it can do (External Actions).

Two service definitions, since Adobe lets one service support one entity type: buying-group
role identification of the people of an account (``accountPerson``, the main one) and of a
whole account (``account``). The names and types validate against the spec's
``ServiceDefinition`` schema (tests/serving/test_ajo_b2b.py checks it).
"""

from __future__ import annotations

from typing import Any, Final

#: Flow attribute naming the solution interest (the definition's primary attribute).
SOLUTION_INTEREST: Final = "solutionInterest"
#: Flow attribute naming the assignment mode: rules, model or hybrid.
MODE: Final = "mode"
#: The buying role accessor of a person the rules and the model placed nowhere.
NO_ROLE_VALUE: Final = "No role"
#: Minutes Adobe waits for a callback (the spec's default; at most 240).
TIMEOUT_MINUTES: Final = 60


def _attribute(name: str, label: str, text: str, data_type: str, required: bool) -> dict[str, Any]:
    return {
        "apiName": name,
        "i18n": {"en_US": {"displayName": label, "description": text}},
        "dataType": data_type,
        "required": required,
    }


def _field(name: str, text: str, data_type: str, required: bool = False) -> dict[str, Any]:
    return {
        "serviceAttribute": name,
        "description": text,
        "dataType": data_type,
        "required": required,
    }


def _accessor(name: str, data_type: str, text: str) -> dict[str, Any]:
    return {"accessorName": name, "dataType": data_type, "description": text}


FLOW_ATTRIBUTES: Final = [
    _attribute(
        SOLUTION_INTEREST,
        "Solution interest",
        "The solution interest whose buying group the people join (its exact name)",
        "string",
        True,
    ),
    _attribute(
        MODE,
        "Mode",
        "How roles are decided: rules (the role template), model (the title model) or "
        "hybrid (a firing rule wins, the model fills in; the default)",
        "string",
        False,
    ),
]
ACCOUNT_FIELDS: Final = [
    _field("accountName", "Company name", "string"),
    _field("domain", "Company web domain", "string"),
    _field("industry", "Industry", "string"),
    _field("employeeCount", "Number of employees", "integer"),
    _field("annualRevenue", "Annual revenue", "float"),
]
PERSON_FIELDS: Final = [
    _field("email", "E-mail address", "string"),
    _field("firstName", "First name", "string"),
    _field("lastName", "Last name", "string"),
    _field("title", "Job title (what the rules and the title model read)", "string"),
    _field("department", "Department", "string"),
    _field("country", "Country (ISO 3166 alpha-2 code)", "string"),
]
GROUP_ACCESSORS: Final = [
    _accessor("committeeComplete", "boolean", "Whether every required role is filled"),
    _accessor("groupCompleteness", "integer", "Completeness of the buying group (0-100)"),
]
PERSON_ACCESSORS: Final = [
    _accessor(
        "buyingRole",
        "string",
        "The person's role in the buying group (a role name such as Decision Maker, "
        f"Influencer, Practitioner; '{NO_ROLE_VALUE}' when the person plays none)",
    ),
    _accessor(
        "influenceScore",
        "integer",
        "The weighting of the person's role in the template (20-100; 0 without a role)",
    ),
    _accessor(
        "engagementLevel",
        "string",
        "The person's engagement over the last 30 days: high (60+), medium (30+) or low",
    ),
    *GROUP_ACCESSORS,
]
GROUP_FIELDS: Final = [
    _field("buyingGroupSize", "Members of the buying group", "integer"),
    _field("committeeCompleteness", "Completeness of the buying group (0-100)", "float"),
    _field("missingRoles", "Roles still missing, comma-separated", "string"),
]
ANALYSIS_DATE: Final = _attribute(
    "analysisDate", "Analysis date", "When the roles were decided", "datetime", False
)


def _definition(
    api_name: str, name: str, text: str, entity: str, invocation: dict[str, Any]
) -> dict[str, Any]:
    return {
        "apiName": api_name,
        "i18n": {"en_US": {"name": name, "description": text}},
        "description": text,
        "primaryAttribute": SOLUTION_INTEREST,
        "supportedEntityType": entity,
        "timeout": TIMEOUT_MINUTES,
        "enableSplitPaths": True,
        "invocationPayloadDef": {
            "flowAttributes": FLOW_ATTRIBUTES,
            "journeyContext": True,
            "subscriptionContext": True,
            **invocation,
        },
    }


ACCOUNT_PERSON_DEFINITION: Final = {
    **_definition(
        "buying_group_role_identification",
        "Buying Group Role Identification",
        "Places each person of the account in the buying group of a solution interest, in "
        "the role the template's rules or the title model give them, and answers the role, "
        "its weight and how complete the group is",
        "accountPerson",
        {
            "accountFields": ACCOUNT_FIELDS,
            "fields": PERSON_FIELDS,
            "accessorsMetadata": PERSON_ACCESSORS,
        },
    ),
    "callbackPayloadDef": {
        "accountFields": GROUP_FIELDS,
        "fields": [
            _field("validatedTitle", "The job title as the models read it (normalised)", "string"),
            _field("buyingRole", "Role in the buying group", "string"),
            _field("persona", "Function / seniority inferred from the title", "string"),
            _field("roleSource", "Who decided the role: journey, manual, ...", "string"),
            _field("modelConfidence", "The title model's confidence in the role (0-1)", "float"),
        ],
        "attributes": [ANALYSIS_DATE],
    },
}
ACCOUNT_DEFINITION: Final = {
    **_definition(
        "buying_group_account_identification",
        "Buying Group Completion",
        "Places the people the service knows of an account in the buying group of a solution "
        "interest and answers how complete the group is and which roles are missing",
        "account",
        {
            "accountFields": ACCOUNT_FIELDS,
            "accessorsMetadata": [
                *GROUP_ACCESSORS,
                _accessor("buyingGroupSize", "integer", "Members of the buying group"),
                _accessor("missingRoles", "string", "Roles still missing, comma-separated"),
            ],
        },
    ),
    "callbackPayloadDef": {"accountFields": GROUP_FIELDS, "attributes": [ANALYSIS_DATE]},
}

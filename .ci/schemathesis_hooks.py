"""Schemathesis hooks for Latchkey's CI run (loaded through SCHEMATHESIS_HOOKS by .ci/run).

The run authenticates with one Admin key. Left alone, the fuzzer soon finds that key's id in a list
and revokes it (or takes its roles away), and every later request is a 401 that tests nothing. So a
request that would change *that* key is sent to an id that does not exist instead (a 404 the document
also covers); every other key, role, permission and user stays fair game.
"""

import os

import schemathesis

FUZZ_KEY_ID = os.environ["LATCHKEY_FUZZ_KEY_ID"]


@schemathesis.hook
def before_call(context, case, kwargs):
    path_parameters = case.path_parameters
    if (
        path_parameters
        and case.operation.path.startswith("/api/v1/service-accounts/{id}")
        and path_parameters.get("id") == FUZZ_KEY_ID
    ):
        path_parameters["id"] = FUZZ_KEY_ID + "-not-the-fuzzing-key"

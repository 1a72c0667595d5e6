#!/usr/bin/env bash
# Offline checks of the SAM template (default: <repo>/template.yaml; or pass a path as $1):
#
#   1. sam validate --lint -t TEMPLATE
#   2. cfn-lint TEMPLATE
#   3. transform TEMPLATE with samtranslator (offline, no AWS call) into .tools/out/template.cfn.json
#   4. cfn-lint .tools/out/template.cfn.json
#   5. the Secrets extension layer parameter: its AllowedPattern takes the default and AWS's own
#      layers, and refuses another account's layer (or AWS's account in another region)
#   6. each deployment the switches allow (EnableManagedInstances x EnableCloudFront x
#      StockSource x SharedState off/elasticache), resolved from the transformed template
#      (scripts/check_template_scenarios.py): STOCK_PORTAL_INSTANCES wired to the parameter that
#      bounds the execution environments; the Function URL open, or locked to the distribution;
#      CloudFront's origin access control and cache key; the mirror's one sweeper, private
#      bucket and least S3 rights; with SharedState, one Valkey cache that the function reaches
#      over TLS from the cache's subnets (and may make network interfaces there), without it no
#      cache, no VPC and no such rights. Broken copies of the template must fail the same checks.
#
# 1 and 2 do not look inside AWS::Serverless::Function properties closely enough to catch e.g. a
# bad Runtime or Architectures value; the lint of the generated CloudFormation (4) does.
# All checks run; the exit status is non-zero if any of them failed (cfn-lint warnings count).
# Needs the tools from scripts/install-lambda-tools.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_FILE="$ROOT/.tools/lambda-env.sh"
TEMPLATE="${1:-$ROOT/template.yaml}"
OUT_DIR="$ROOT/.tools/out"
OUT="$OUT_DIR/template.cfn.json"

log() { printf '[check-template] %s\n' "$*" >&2; }

[ -f "$ENV_FILE" ] || { log "missing $ENV_FILE: run scripts/install-lambda-tools.sh first"; exit 2; }
[ -f "$TEMPLATE" ] || { log "template not found: $TEMPLATE"; exit 2; }
# shellcheck source=/dev/null
source "$ENV_FILE"   # SAM_BIN, CFN_LINT_BIN, SAM_PYTHON, SAM_CLI_TELEMETRY=0, AWS_DEFAULT_REGION, ...
for f in "$SAM_BIN" "$CFN_LINT_BIN" "$SAM_PYTHON"; do
  [ -x "$f" ] || { log "missing $f: run scripts/install-lambda-tools.sh"; exit 2; }
done
mkdir -p "$OUT_DIR"

failed=()
check() {
  local name=$1; shift
  log "== $name"
  local t0=$EPOCHREALTIME rc=0
  "$@" || rc=$?
  local dt; dt=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
  if [ "$rc" -eq 0 ]; then
    log "   ok (${dt}s)"
  else
    log "   FAILED (exit $rc, ${dt}s)"
    failed+=("$name")
  fi
}

transform() {
  rm -f "$OUT"
  "$SAM_PYTHON" - "$TEMPLATE" "$OUT" <<'PY'
import json, sys

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.arn_generator import ArnGenerator
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

src, dest = sys.argv[1], sys.argv[2]


class OfflinePolicyLoader(ManagedPolicyLoader):
    """Managed-policy names -> ARNs without calling IAM (the real loader lists IAM policies).

    samtranslator consults this only for names missing from its own bundled map of AWS
    managed policies. A name not in this fixed map is passed through unchanged, so a
    misspelt policy name shows up as an invalid ARN when cfn-lint checks the output.
    """

    POLICIES = {
        "AWSLambdaBasicExecutionRole": "service-role/AWSLambdaBasicExecutionRole",
        "AWSLambdaVPCAccessExecutionRole": "service-role/AWSLambdaVPCAccessExecutionRole",
        "AWSLambdaExecute": "AWSLambdaExecute",
        "AWSXrayWriteOnlyAccess": "AWSXrayWriteOnlyAccess",
        "AWSXRayDaemonWriteAccess": "AWSXRayDaemonWriteAccess",
        "CloudWatchLambdaInsightsExecutionRolePolicy": "CloudWatchLambdaInsightsExecutionRolePolicy",
        "SecretsManagerReadWrite": "SecretsManagerReadWrite",
    }

    def __init__(self):  # no IAM client
        pass

    def load(self):
        partition = ArnGenerator.get_partition_name()
        return {n: f"arn:{partition}:iam::aws:policy/{p}" for n, p in self.POLICIES.items()}


# Local artifact paths (what `sam build`/`sam package` would upload) -> placeholder S3 URIs,
# as the transform only accepts S3 locations.
LOCAL_URIS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::HttpApi": "DefinitionUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


def placeholder_uris(props, key, name):
    value = props.get(key)
    if isinstance(value, str) and not value.startswith("s3://"):
        props[key] = f"s3://offline-check-placeholder/{name}.zip"


try:
    with open(src, encoding="utf-8") as f:
        template = yaml_parse(f.read())
except Exception as e:  # YAML syntax errors etc.
    sys.exit(f"samtranslator: cannot parse {src}: {e}")
if not isinstance(template, dict):
    sys.exit(f"samtranslator: {src} is not a template (top level is not a mapping)")
globals_fn = (template.get("Globals") or {}).get("Function") or {}
placeholder_uris(globals_fn, "CodeUri", "Globals")
for name, res in (template.get("Resources") or {}).items():
    key = LOCAL_URIS.get(res.get("Type")) if isinstance(res, dict) else None
    if not key:
        continue
    props = res.setdefault("Properties", {}) or {}
    res["Properties"] = props
    if (key == "CodeUri" and "CodeUri" not in props and "CodeUri" not in globals_fn
            and not any(k in props for k in ("InlineCode", "ImageUri"))):
        props["CodeUri"] = "."  # SAM's default: the template's folder
    placeholder_uris(props, key, name)
try:
    cfn = transform(template, {}, OfflinePolicyLoader())
except InvalidDocumentException as e:
    print(f"samtranslator: {e.message}", file=sys.stderr)
    for cause in e.causes:
        print(f"  - {cause.message}", file=sys.stderr)
    sys.exit(1)
with open(dest, "w", encoding="utf-8") as f:
    json.dump(cfn, f, indent=2, sort_keys=False)
    f.write("\n")
print(f"wrote {dest}", file=sys.stderr)
PY
}

# CloudFormation matches AllowedPattern against the whole value (Java regex); fullmatch does
# the same for this pattern.
layer_arn_pattern() {
  "$SAM_PYTHON" - "$TEMPLATE" <<'PY'
import re, sys

from samtranslator.yaml_helper import yaml_parse

with open(sys.argv[1], encoding="utf-8") as f:
    parameter = yaml_parse(f.read())["Parameters"]["SecretsExtensionLayerArn"]
pattern = re.compile(parameter["AllowedPattern"])
name = "AWS-Parameters-and-Secrets-Lambda-Extension"
accepted = [
    parameter["Default"],
    f"arn:aws:lambda:eu-central-1:187925254637:layer:{name}-Arm64:12",
    f"arn:aws:lambda:us-east-2:590474943231:layer:{name}:11",
    f"arn:aws-cn:lambda:cn-north-1:287114880934:layer:{name}:2",
    f"arn:aws-us-gov:lambda:us-gov-west-1:127562683043:layer:{name}-Arm64:3",
]
refused = [
    f"arn:aws:lambda:us-east-1:111122223333:layer:{name}-Arm64:19",   # someone else's account
    f"arn:aws:lambda:us-east-1:590474943231:layer:{name}-Arm64:19",   # AWS's, other region
    f"arn:aws:lambda:us-east-1:177933569100:layer:{name}-Arm64-Evil:19",
    f"arn:aws:lambda:us-east-1:177933569100:layer:Other-Layer:1",
    f"arn:aws:lambda:us-east-1:177933569100:layer:{name}-Arm64:19\narn:x",
]
bad = [a for a in accepted if not pattern.fullmatch(a)] + [r for r in refused if pattern.fullmatch(r)]
for arn in bad:
    print(f"layer ARN pattern judges wrongly: {arn}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

log "template: $TEMPLATE"
check "sam validate --lint" "$SAM_BIN" validate --lint -t "$TEMPLATE"
check "cfn-lint (SAM template)" "$CFN_LINT_BIN" -- "$TEMPLATE"
check "samtranslator transform" transform
if [ -f "$OUT" ]; then
  # W1028 off here only: SAM wraps a conditional function's route in an Fn::If inside the
  # HTTP API that carries the same condition, an else branch that cannot be reached.
  check "cfn-lint (transformed)" "$CFN_LINT_BIN" --ignore-checks W1028 -- "$OUT"
else
  log "== cfn-lint (transformed): skipped, no transformed template"
  failed+=("cfn-lint (transformed)")
fi

check "layer ARN pattern: AWS's accounts only" layer_arn_pattern
if [ -f "$OUT" ]; then
  check "scenarios: budget wiring; URL lock; CloudFront; mirror; shared state" \
    "$SAM_PYTHON" "$ROOT/scripts/check_template_scenarios.py" "$OUT"
else
  log "== scenarios: skipped, no transformed template"
  failed+=("scenarios")
fi

if [ "${#failed[@]}" -gt 0 ]; then
  log "FAILED: $(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')"
  exit 1
fi
log "all checks passed"

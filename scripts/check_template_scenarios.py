"""What the transformed template deploys under each switch, checked offline.

Usage: python3 check_template_scenarios.py TEMPLATE.cfn.json

For every combination of EnableManagedInstances, EnableCloudFront, StockSource and SharedState
(off, or elasticache), the conditions are evaluated, every Fn::If resolved and every resource
whose condition is false dropped; then:

- budget wiring: the function's STOCK_PORTAL_INSTANCES is a Ref to the same parameter that bounds
  its execution environments (ReservedConcurrentExecutions on classic Lambda,
  FunctionScalingConfig.MaxExecutionEnvironments on managed instances), a Number >= 1 with a
  default, so each environment's share times the environments never passes the whole share;
- the Function URL: open (AuthType NONE, both public permissions) without CloudFront; with it,
  AuthType AWS_IAM, no public permission, both permissions for cloudfront.amazonaws.com from
  this distribution only;
- CloudFront: origin access control of type lambda that always signs, the origin is this
  function's URL, the cache key holds every query parameter and Origin, no POST;
- the mirror: with StockSource=mirror, one sweeper (STOCK_LAMBDA_ROLE=sweep) that never runs
  twice at once, holds the whole budget share (STOCK_PORTAL_INSTANCES "1") and is started by a
  schedule; a bucket that blocks every kind of public access; the HTTP function may only read
  the table's object and the sweeper only write it. On demand: no sweeper, no bucket;
- the shared state: with SharedState=elasticache, one ElastiCache Serverless cache in the
  SharedState network, the HTTP function's STOCK_SHARED_STATE a rediss:// address of that cache,
  none for the sweeper; on classic Lambda the function in the same subnets and security groups
  (VpcConfig) and its role allowed to make network interfaces. Off: no cache, no
  STOCK_SHARED_STATE, no VpcConfig and no network-interface rights. STOCK_PORTAL_INSTANCES stays
  wired either way: it is the fallback share while the store is away.

Then the same checks run on broken copies (wiring removed, wired to another parameter, URL left
open behind CloudFront, Origin out of the key, two sweepers at once, a public bucket, an HTTP
function that may write the table, the cache not wired to the function, the function outside
the cache's network, the cache reached without TLS) and must fail: a check that passes anything
is no check.
"""

import copy
import itertools
import json
import sys

SWITCHES = {
    "EnableManagedInstances": ("false", "true"),
    "EnableCloudFront": ("false", "true"),
    "StockSource": ("on_demand", "mirror"),
    "SharedState": ("off", "elasticache"),
}
# What an operator must pass with managed instances (the template's rule asks for them).
NETWORK = {
    "ManagedInstancesSubnetIds": ["subnet-0123456789abcdef0"],
    "ManagedInstancesSecurityGroupIds": ["sg-0123456789abcdef0"],
}
# And with a shared state (the template's rule asks for them too).
SHARED_NETWORK = {
    "SharedStateSubnetIds": ["subnet-0fedcba9876543210", "subnet-00112233445566778"],
    "SharedStateSecurityGroupIds": ["sg-0fedcba9876543210"],
}
NO_VALUE = object()


def parameter_values(cfn, switches):
    values = {}
    for name, spec in cfn.get("Parameters", {}).items():
        default = spec.get("Default")
        if spec.get("Type") == "CommaDelimitedList":
            default = [] if default in (None, "") else str(default).split(",")
        values[name] = default
    values.update(switches)
    if switches.get("EnableManagedInstances") == "true":
        values.update(NETWORK)
    if switches.get("SharedState", "off") != "off":
        values.update(SHARED_NETWORK)
    return values


def evaluate(node, values, conditions):
    """The value of a condition expression."""
    if isinstance(node, dict) and len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Fn::Equals":
            a, b = (evaluate(x, values, conditions) for x in arg)
            return a == b
        if fn == "Fn::Not":
            return not evaluate(arg[0], values, conditions)
        if fn == "Fn::And":
            return all(evaluate(x, values, conditions) for x in arg)
        if fn == "Fn::Or":
            return any(evaluate(x, values, conditions) for x in arg)
        if fn == "Condition":
            return conditions[arg]
        if fn == "Ref":
            return values[arg]
        if fn == "Fn::Join":
            sep, items = arg
            items = evaluate(items, values, conditions)
            return sep.join(items)
    return node


def condition_values(cfn, values):
    conditions = {}
    pending = dict(cfn.get("Conditions", {}))
    while pending:
        for name, expr in list(pending.items()):
            try:
                conditions[name] = evaluate(expr, values, conditions)
                del pending[name]
            except KeyError:
                continue  # refers to a condition not evaluated yet
    return conditions


def resolve(node, conditions):
    """Fn::If picked, AWS::NoValue dropped; other intrinsics kept as they are."""
    if isinstance(node, dict):
        if list(node) == ["Fn::If"]:
            name, yes, no = node["Fn::If"]
            return resolve(yes if conditions[name] else no, conditions)
        if node == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        out = {}
        for key, value in node.items():
            value = resolve(value, conditions)
            if value is not NO_VALUE:
                out[key] = value
        return out
    if isinstance(node, list):
        return [v for v in (resolve(x, conditions) for x in node) if v is not NO_VALUE]
    return node


def deployed(cfn, switches):
    values = parameter_values(cfn, switches)
    conditions = condition_values(cfn, values)
    resources = {
        name: resolve(res, conditions)
        for name, res in cfn["Resources"].items()
        if conditions.get(res.get("Condition"), True)
    }
    return resources


def refers_to(node, logical_id):
    """Whether node (a Ref, GetAtt or Sub) names logical_id."""
    text = json.dumps(node)
    return (
        f'"Ref": "{logical_id}"' in text
        or f'["{logical_id}", ' in text
        or "${" + logical_id + "}" in text
        or "${" + logical_id + "." in text
    )


def variables(function):
    return function["Properties"].get("Environment", {}).get("Variables", {})


def role_of(resources, function):
    return resources.get(function["Properties"].get("Role", {}).get("Fn::GetAtt", [None])[0], {})


def s3_actions(resources, function):
    """The S3 actions the function's role allows, and on what."""
    role = role_of(resources, function)
    allowed = []
    for policy in role.get("Properties", {}).get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if statement.get("Effect") == "Allow":
                allowed += [(a, statement.get("Resource")) for a in actions if a.startswith("s3:")]
    return allowed


def mirror_problems(resources, fn, sweepers, mirror):
    of_type = lambda t: {k: v for k, v in resources.items() if v["Type"] == t}  # noqa: E731
    buckets = of_type("AWS::S3::Bucket")
    if not mirror:
        if sweepers or buckets:
            return ["on demand, yet a sweeper or a bucket is deployed"]
        return []
    if len(sweepers) != 1 or len(buckets) != 1:
        return [f"{len(sweepers)} sweepers and {len(buckets)} buckets, expected one of each"]
    (sweeper_id, sweeper), = sweepers.items()
    (bucket_id, bucket), = buckets.items()
    found = []
    if sweeper["Properties"].get("ReservedConcurrentExecutions") != 1:
        found.append(f"{sweeper_id}: may run twice at once (ReservedConcurrentExecutions not 1)")
    if variables(sweeper).get("STOCK_PORTAL_INSTANCES") != "1":
        found.append(f"{sweeper_id}: STOCK_PORTAL_INSTANCES is not \"1\"")
    for function in (fn, sweeper):
        if not refers_to(variables(function).get("STOCK_MIRROR_BUCKET"), bucket_id):
            found.append(f"a function's STOCK_MIRROR_BUCKET is not {bucket_id}")
    if not any(refers_to(s["Properties"].get("Target", {}).get("Arn"), sweeper_id)
               for s in of_type("AWS::Scheduler::Schedule").values()):
        found.append(f"no schedule starts {sweeper_id}")
    block = bucket["Properties"].get("PublicAccessBlockConfiguration", {})
    for setting in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                    "RestrictPublicBuckets"):
        if block.get(setting) is not True:
            found.append(f"{bucket_id}: {setting} is not true")
    for function, wanted in ((fn, "s3:GetObject"), (sweeper, "s3:PutObject")):
        allowed = s3_actions(resources, function)
        if [a for a, _ in allowed] != [wanted] or not refers_to(allowed[0][1], bucket_id):
            found.append(f"a function may do {allowed} in S3, expected only {wanted} on the table")
    return found


def shared_state_problems(resources, fn_id, fn, sweepers, shared, managed):
    caches = {k: v for k, v in resources.items()
              if v["Type"] == "AWS::ElastiCache::ServerlessCache"}
    address = variables(fn).get("STOCK_SHARED_STATE")
    vpc = fn["Properties"].get("VpcConfig")
    eni_rights = "AWSLambdaVPCAccessExecutionRole" in json.dumps(
        role_of(resources, fn).get("Properties", {}).get("ManagedPolicyArns", []))
    if not shared:
        found = []
        if caches or address is not None:
            found.append("SharedState=off, yet a cache or STOCK_SHARED_STATE is deployed")
        if not managed and (vpc is not None or eni_rights):
            found.append(f"SharedState=off, yet {fn_id} has a VpcConfig or rights to make "
                         "network interfaces")
        return found
    if len(caches) != 1:
        return [f"{len(caches)} ServerlessCaches, expected one"]
    (cache_id, cache), = caches.items()
    found = []
    network = {"SubnetIds": "SharedStateSubnetIds",
               "SecurityGroupIds": "SharedStateSecurityGroupIds"}
    for key, parameter in network.items():
        if cache["Properties"].get(key) != {"Ref": parameter}:
            found.append(f"{cache_id}: {key} is not the parameter {parameter}")
    sub = address.get("Fn::Sub") if isinstance(address, dict) else None
    if not (isinstance(sub, str) and sub.startswith("rediss://") and refers_to(address, cache_id)):
        found.append(f"{fn_id}: STOCK_SHARED_STATE is {address}, "
                     f"not a rediss:// address of {cache_id}")
    for sweeper_id, sweeper in sweepers.items():
        if "STOCK_SHARED_STATE" in variables(sweeper):
            found.append(f"{sweeper_id}: the sweeper is given the shared store's address")
    if managed:
        return found  # in the capacity provider's VPC; SAM refuses a VpcConfig beside it
    if not isinstance(vpc, dict):
        found.append(f"{fn_id}: no VpcConfig, so it cannot reach {cache_id}")
    else:
        for key, parameter in network.items():
            if not refers_to(vpc.get(key), parameter):
                found.append(f"{fn_id}: VpcConfig.{key} is not the parameter {parameter}")
    if not eni_rights:
        found.append(f"{fn_id}: in a VPC, but its role may not make network interfaces")
    return found


def problems_in(cfn, switches):
    found = []
    resources = deployed(cfn, switches)
    of_type = lambda t: {k: v for k, v in resources.items() if v["Type"] == t}  # noqa: E731
    functions = of_type("AWS::Lambda::Function")
    sweepers = {k: v for k, v in functions.items()
                if variables(v).get("STOCK_LAMBDA_ROLE") == "sweep"}
    functions = {k: v for k, v in functions.items() if k not in sweepers}
    if len(functions) != 1:
        return [f"{len(functions)} HTTP functions deployed, expected one"]
    (fn_id, fn), = functions.items()
    found += mirror_problems(resources, fn, sweepers, switches["StockSource"] == "mirror")
    props = fn["Properties"]
    managed = switches["EnableManagedInstances"] == "true"
    found += shared_state_problems(resources, fn_id, fn, sweepers,
                                   switches["SharedState"] != "off", managed)

    # Budget wiring.
    instances = props.get("Environment", {}).get("Variables", {}).get("STOCK_PORTAL_INSTANCES")
    if managed:
        bound = props.get("FunctionScalingConfig", {}).get("MaxExecutionEnvironments")
        bound_name = "FunctionScalingConfig.MaxExecutionEnvironments"
        if "CapacityProviderConfig" not in props:
            found.append(f"{fn_id}: no CapacityProviderConfig")
    else:
        bound = props.get("ReservedConcurrentExecutions")
        bound_name = "ReservedConcurrentExecutions"
    if not (isinstance(bound, dict) and list(bound) == ["Ref"]):
        found.append(f"{fn_id}: {bound_name} is not a parameter: {bound}")
    elif instances != bound:
        found.append(f"{fn_id}: STOCK_PORTAL_INSTANCES is {instances}, {bound_name} is {bound}")
    else:
        spec = cfn["Parameters"].get(bound["Ref"], {})
        if spec.get("Type") != "Number" or "Default" not in spec or spec.get("MinValue", 0) < 1:
            found.append(f"parameter {bound['Ref']}: must be a Number >= 1 with a default")

    # The Function URL and who may call it.
    urls = {k: v for k, v in of_type("AWS::Lambda::Url").items()
            if refers_to(v["Properties"].get("TargetFunctionArn"), fn_id)}
    if len(urls) != 1:
        return found + [f"{len(urls)} Function URLs for {fn_id}"]
    (url_id, url), = urls.items()
    cloudfront = switches["EnableCloudFront"] == "true"
    auth = url["Properties"].get("AuthType")
    if auth != ("AWS_IAM" if cloudfront else "NONE"):
        found.append(f"{url_id}: AuthType {auth} with EnableCloudFront={switches['EnableCloudFront']}")
    grants = [p["Properties"] for p in of_type("AWS::Lambda::Permission").values()
              if refers_to(p["Properties"].get("FunctionName"), fn_id)]
    public = [g for g in grants if g.get("Principal") == "*"]
    distributions = of_type("AWS::CloudFront::Distribution")
    if not cloudfront:
        actions = {g["Action"] for g in public}
        if actions != {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}:
            found.append(f"open Function URL: public permissions for {sorted(actions)}")
        if distributions:
            found.append("a distribution without EnableCloudFront")
        return found
    if public:
        found.append("behind CloudFront, the Function URL is still public")
    if len(distributions) != 1:
        return found + [f"{len(distributions)} distributions"]
    (dist_id, dist), = distributions.items()
    from_cloudfront = [g for g in grants if g.get("Principal") == "cloudfront.amazonaws.com"]
    wanted = {("lambda:InvokeFunctionUrl", "FunctionUrlAuthType", "AWS_IAM"),
              ("lambda:InvokeFunction", "InvokedViaFunctionUrl", True)}
    for action, key, value in wanted:
        if not any(g["Action"] == action and g.get(key) == value
                   and refers_to(g.get("SourceArn"), dist_id) for g in from_cloudfront):
            found.append(f"no {action} for cloudfront.amazonaws.com from {dist_id} only")
    config = dist["Properties"]["DistributionConfig"]
    origin, = config["Origins"]
    if not refers_to(origin["DomainName"], url_id):
        found.append(f"{dist_id}: the origin is not {url_id}")
    oac = resources.get(origin.get("OriginAccessControlId", {}).get("Fn::GetAtt", [None])[0])
    oac = (oac or {}).get("Properties", {}).get("OriginAccessControlConfig", {})
    if (oac.get("OriginAccessControlOriginType"), oac.get("SigningBehavior")) != ("lambda", "always"):
        found.append(f"{dist_id}: no origin access control for lambda that always signs")
    behavior = config["DefaultCacheBehavior"]
    if "POST" in behavior.get("AllowedMethods", []):
        found.append(f"{dist_id}: POST allowed (Lambda refuses unsigned bodies through OAC)")
    policy = resources.get(behavior.get("CachePolicyId", {}).get("Ref"), {})
    key = policy.get("Properties", {}).get("CachePolicyConfig", {}).get(
        "ParametersInCacheKeyAndForwardedToOrigin", {})
    if key.get("QueryStringsConfig", {}).get("QueryStringBehavior") != "all":
        found.append(f"{dist_id}: the query string is not all in the cache key")
    headers = key.get("HeadersConfig", {})
    if headers.get("HeaderBehavior") != "whitelist" or "Origin" not in headers.get("Headers", []):
        found.append(f"{dist_id}: Origin is not in the cache key")
    return found


def all_problems(cfn):
    found = []
    for values in itertools.product(*SWITCHES.values()):
        switches = dict(zip(SWITCHES, values))
        label = " ".join(f"{k}={v}" for k, v in switches.items())
        found += [f"[{label}] {p}" for p in problems_in(cfn, switches)]
    return found


def broken_copies(cfn):
    """(what was broken, template) pairs that the checks must refuse."""
    def functions(t):
        return [r for r in t["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]

    def env(t):
        return [f["Properties"]["Environment"]["Variables"] for f in functions(t)]

    unwired = copy.deepcopy(cfn)
    for variables in env(unwired):
        variables.pop("STOCK_PORTAL_INSTANCES", None)
    yield "STOCK_PORTAL_INSTANCES removed", unwired
    elsewhere = copy.deepcopy(cfn)
    for variables in env(elsewhere):
        variables["STOCK_PORTAL_INSTANCES"] = {"Ref": "CacheTtlSecs"}
    yield "STOCK_PORTAL_INSTANCES wired to another parameter", elsewhere
    unbounded = copy.deepcopy(cfn)
    for f in functions(unbounded):
        f["Properties"].pop("ReservedConcurrentExecutions", None)
        f["Properties"].pop("FunctionScalingConfig", None)
    yield "the bound on environments removed", unbounded
    open_url = copy.deepcopy(cfn)
    for r in open_url["Resources"].values():
        if r["Type"] == "AWS::Lambda::Url":
            r["Properties"]["AuthType"] = "NONE"
    yield "the Function URL left open behind CloudFront", open_url
    no_origin = copy.deepcopy(cfn)
    for r in no_origin["Resources"].values():
        if r["Type"] == "AWS::CloudFront::CachePolicy":
            key = r["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
            key["HeadersConfig"] = {"HeaderBehavior": "none"}
    yield "Origin out of the cache key", no_origin
    twice = copy.deepcopy(cfn)
    for f in functions(twice):
        if f["Properties"]["Environment"]["Variables"].get("STOCK_LAMBDA_ROLE") == "sweep":
            f["Properties"].pop("ReservedConcurrentExecutions", None)
    yield "the sweeper may run twice at once", twice
    public = copy.deepcopy(cfn)
    for r in public["Resources"].values():
        if r["Type"] == "AWS::S3::Bucket":
            r["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] = False
    yield "the table's bucket may be made public", public
    writer = copy.deepcopy(cfn)
    for r in writer["Resources"].values():
        if r["Type"] == "AWS::IAM::Role" and "Sweeper" not in json.dumps(r):
            for policy in r["Properties"].get("Policies", []):
                policy["PolicyDocument"]["Statement"].append(
                    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})
    yield "the HTTP function may write the table", writer
    unshared = copy.deepcopy(cfn)
    for variables in env(unshared):
        variables.pop("STOCK_SHARED_STATE", None)
    yield "the shared cache not wired to the function", unshared
    outside = copy.deepcopy(cfn)
    for f in functions(outside):
        f["Properties"].pop("VpcConfig", None)
    yield "the classic function outside the shared cache's network", outside
    plain = json.loads(json.dumps(cfn).replace('"rediss://', '"redis://'))
    yield "the shared cache reached without TLS", plain


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cfn = json.load(f)
    found = all_problems(cfn)
    for problem in found:
        print(problem, file=sys.stderr)
    for what, broken in broken_copies(cfn):
        if not all_problems(broken):
            found.append(what)
            print(f"the checks let a broken template through: {what}", file=sys.stderr)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()

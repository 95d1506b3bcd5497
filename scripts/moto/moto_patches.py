"""Patches to moto where it lacks behaviour that a correct AWS client relies on (ECS, ELBv2, IAM).

Each patch makes moto answer as ECS does; none loosens what a client may send.

`apply(level)`: "full" applies every patch below; "dynamics" only what moto does not model
(rollouts, task scheduling, target registration, SimulatePrincipalPolicy, ECS's error codes
and paging), and leaves out the fields moto omits from its answers (a service's `createdAt`,
a task's `createdAt`/`startedAt`, a task set's `computedDesiredCount`), which the AWS SDKs
treat as optional and so must the client; "none" leaves moto 5.2.1 as it is.

- UpdateService / CreateService: moto keeps the old deployment entry, leaves the service on
  `pendingCount == desiredCount`, and stores the task definition as given (`web:2`) instead of
  its ARN. ECS, once a rollout completes, shows one PRIMARY deployment on the new task
  definition's ARN with running == desired and rolloutState COMPLETED. moto has no task
  scheduler, so every rollout completes at once.
- Services have no `createdAt` in moto; ECS always returns it.
- Tasks: moto advances a task's lastStatus (RUNNING -> DEACTIVATING -> ... -> STOPPED) each
  time it is described, and gives no `createdAt`/`startedAt`. Tasks stay RUNNING here, with
  their timestamps.
- Task sets: moto has no computedDesiredCount/runningCount/pendingCount, starts the task
  set's tasks with `startedBy` = the account id instead of the task set id, defaults the
  launch type to EC2 (then fails with a 500 when the cluster has no instances), ignores a
  task set id in UpdateServicePrimaryTaskSet (only a full ARN matched) and answers a 500
  when the task set or service is missing instead of TaskSetNotFoundException /
  ServiceNotFoundException (moto's own TaskSetNotFoundException class answers the code
  ClientException; ECS answers TaskSetNotFoundException).
- ListServices: moto ignores maxResults/nextToken and returns every service at once. ECS
  returns at most maxResults (1-100, default 10) ARNs and a nextToken that continues the
  listing; InvalidParameterException for a maxResults out of range or a token it did not issue.
- Task sets behind a load balancer: moto accepts any `loadBalancers` and never registers the
  task set's tasks in those target groups, so DescribeTargetHealth shows none. ECS checks that
  the target group is attached to a load balancer and that the container exposes the port,
  then registers each task (ip targets: its IP and the container port), which the load
  balancer reports healthy once its checks pass; it deregisters the tasks it stops when a
  task set is scaled down or deleted. Here every task slot of a task set (computedDesiredCount
  of them) is a target with a stable made-up IP, healthy at once (moto has no health checks).
- ELBv2 target groups: moto appends a load balancer to a target group's LoadBalancerArns at
  CreateListener/CreateRule (once per listener and rule, so repeated) and never after
  ModifyListener/ModifyRule. ELBv2 lists each load balancer whose listeners or rules forward
  to the target group, once.
- IAM SimulatePrincipalPolicy: not implemented in moto (HTTP 500). Here it evaluates the
  principal's own policies (a user's inline, attached and groups' policies; a role's inline
  and attached policies) plus PolicyInputList, with moto's policy matcher (Action/NotAction,
  Resource; Condition as moto's matcher handles it): an explicit Deny gives explicitDeny,
  else an Allow gives allowed, else implicitDeny. One EvaluationResult per action and
  resource (ResourceArns, default "*"), paged by MaxItems/Marker. Permissions boundaries,
  SCPs, resource policies and ContextEntries are not modelled. An unknown user/role/group
  is NoSuchEntity, any other PolicySourceArn InvalidInput, as IAM answers.
"""

import base64
import sys
import ipaddress
import itertools
import math

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ecs import models as ecs_models
from moto.ecs.exceptions import ECSException, InvalidParameterException, ServiceNotFoundException
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.elbv2 import models as elb_models
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.exceptions import InvalidInput, NoSuchEntity
from moto.iam.responses import IamResponse
from moto.moto_api import state_manager

Backend = ecs_models.EC2ContainerServiceBackend

# Whether to add the fields moto leaves out of its answers (level "full").
FIELDS = True
ELBBackend = elb_models.ELBv2Backend


def _new_deployment_id():
    return f"ecs-svc/{ecs_models.mock_random.randint(0, 32**12)}"


def _settle(service, deployment_id=None):
    """Makes the service look like a finished rollout: one PRIMARY deployment, running == desired."""
    if service.deployment_controller.get("type", "ECS") != "ECS":
        service.running_count = sum(getattr(ts, "runningCount", 0) for ts in service.task_sets)
        service.pending_count = 0
        return
    now = utcnow()
    old = service.deployments[0] if service.deployments else {}
    same = old.get("taskDefinition") == service.task_definition and deployment_id is None
    deployment = dict(old)
    deployment.update({
        "id": old.get("id") if same and old.get("id") else (deployment_id or _new_deployment_id()),
        "status": "PRIMARY",
        "taskDefinition": service.task_definition,
        "desiredCount": service.desired_count,
        "runningCount": service.desired_count,
        "pendingCount": 0,
        "failedTasks": 0,
        "rolloutState": "COMPLETED",
        "createdAt": old.get("createdAt", now) if same else now,
        "updatedAt": now,
    })
    deployment["rolloutStateReason"] = f"ECS deployment {deployment['id']} completed."
    service.deployments = [deployment]
    service.running_count = service.desired_count
    service.pending_count = 0


_original_create_service = Backend.create_service
_original_update_service = Backend.update_service


def create_service(self, *args, **kwargs):
    service = _original_create_service(self, *args, **kwargs)
    if FIELDS:
        service.createdAt = utcnow()
    _settle(service)
    return service


def update_service(self, service_properties):
    force = bool(service_properties.get("force_new_deployment"))
    service = _original_update_service(self, service_properties)
    if service.task_definition:
        service.task_definition = self.describe_task_definition(service.task_definition).arn
    _settle(service, deployment_id=_new_deployment_id() if force else None)
    return service



_original_task_init = ecs_models.Task.__init__


def task_init(self, *args, **kwargs):
    _original_task_init(self, *args, **kwargs)
    if FIELDS:
        now = utcnow()
        self.createdAt = now
        self.startedAt = now


def _service_of(backend, cluster, service):
    cluster_obj = backend._get_cluster(cluster)
    found = backend.services.get(f"{cluster_obj.name}:{service.split('/')[-1]}")
    if found is None:
        raise ServiceNotFoundException
    return found


class TaskSetNotFoundException(ECSException):
    """ECS's error for a task set the service does not have (moto's class says ClientException)."""

    # moto's error serializer finds the service's model by the exception's module (moto.<service>...).
    __module__ = "moto.ecs.exceptions"

    def __init__(self):
        super().__init__("TaskSetNotFoundException", "The specified task set does not exist.")


def _find_task_set(service_obj, task_set):
    for ts in service_obj.task_sets:
        if task_set in (ts.task_set_arn, ts.id):
            return ts
    raise TaskSetNotFoundException()


def _count_task_set(service_obj, ts):
    value = float((ts.scale or {}).get("value", 100.0))
    # The task slots ECS would run (kept apart: `computedDesiredCount` is a field moto leaves out).
    ts.desired_slots = int(math.ceil(service_obj.desired_count * value / 100.0))
    if FIELDS:
        ts.computedDesiredCount = ts.desired_slots
    ts.runningCount = ts.desired_slots
    ts.pendingCount = 0
    ts.stabilityStatus = "STEADY_STATE"
    now = utcnow()
    ts.updatedAt = now
    ts.stabilityStatusAt = now


_original_create_task_set = Backend.create_task_set


def create_task_set(self, service, cluster_str, task_definition, **kwargs):
    service_obj = _service_of(self, cluster_str, service)
    _check_load_balancers(self, task_definition, kwargs.get("load_balancers") or [])
    if kwargs.get("launch_type") is None and not kwargs.get("capacity_provider_strategy"):
        kwargs["launch_type"] = service_obj.launch_type or "FARGATE"
    scale = kwargs.pop("scale", None) or {"value": 100.0, "unit": "PERCENT"}
    ts = _original_create_task_set(self, service, cluster_str, task_definition, scale=None, **kwargs)
    ts.scale = {"value": float(scale.get("value", 100.0)), "unit": scale.get("unit", "PERCENT")}
    _count_task_set(service_obj, ts)
    cluster_name = self._get_cluster(cluster_str).name
    if ts.launch_type == "FARGATE" or self.container_instances.get(cluster_name):
        self.run_task(cluster_str=cluster_str, task_definition_str=ts.task_definition, count=ts.desired_slots,
                      overrides=None, started_by=ts.id, tags=[], launch_type=ts.launch_type,
                      networking_configuration=kwargs.get("network_configuration"))
    _sync_targets(self, ts, ts.desired_slots)
    _settle(service_obj)
    return ts


def update_task_set(self, cluster, service, task_set, scale):
    service_obj = _service_of(self, cluster, service)
    ts = _find_task_set(service_obj, task_set)
    ts.scale = {"value": float(scale.get("value", 100.0)), "unit": scale.get("unit", "PERCENT")}
    _count_task_set(service_obj, ts)
    _sync_targets(self, ts, ts.desired_slots)
    _settle(service_obj)
    return ts


def update_service_primary_task_set(self, cluster, service, primary_task_set):
    service_obj = _service_of(self, cluster, service)
    primary = _find_task_set(service_obj, primary_task_set)
    for ts in service_obj.task_sets:
        ts.status = "PRIMARY" if ts is primary else "ACTIVE"
    service_obj.task_definition = primary.task_definition
    service_obj.load_balancers = primary.load_balancers
    primary.updatedAt = utcnow()
    return primary


def delete_task_set(self, cluster, service, task_set):
    service_obj = _service_of(self, cluster, service)
    ts = _find_task_set(service_obj, task_set)
    service_obj.task_sets.remove(ts)
    _sync_targets(self, ts, 0)
    ts.status = "DRAINING"
    ts.updatedAt = utcnow()
    _settle(service_obj)
    return ts


def describe_task_sets(self, cluster_str, service, task_sets):
    service_obj = _service_of(self, cluster_str, service)
    if not task_sets:
        return list(service_obj.task_sets)
    return [ts for ts in service_obj.task_sets if ts.task_set_arn in task_sets or ts.id in task_sets]


# ListServices, paged as ECS pages it. The token is the last ARN handed out (moto lists ARNs
# sorted), so a listing continues after it even when services come or go in between.

def _page_token(arn):
    return base64.urlsafe_b64encode(("v1:" + arn).encode()).decode()


def _after_token(token):
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except Exception:
        text = ""
    if not text.startswith("v1:"):
        raise InvalidParameterException("Invalid token " + token)
    return text[3:]


def list_services(self):
    max_results = self._get_param("maxResults")
    token = self._get_param("nextToken")
    if max_results is None:
        max_results = 10
    if not 1 <= int(max_results) <= 100:
        raise InvalidParameterException("maxResults must be between 1 and 100.")
    arns = self.ecs_backend.list_services(self._get_param("cluster", "default"), self._get_param("schedulingStrategy"),
                                          launch_type=self._get_param("launchType"))
    if token:
        after = _after_token(token)
        arns = [arn for arn in arns if arn > after]
    page = arns[:int(max_results)]
    result = {"serviceArns": page}
    if len(arns) > len(page):
        result["nextToken"] = _page_token(page[-1])
    return ActionResult(result)


# Task sets behind a load balancer (see the module's docstring).

def _elb(ecs_backend):
    return elb_models.elbv2_backends[ecs_backend.account_id][ecs_backend.region_name]


def _load_balancers_forwarding_to(elb, target_group_arn):
    """The load balancers with a listener or rule that forwards to the target group, each once."""
    found = []
    for lb in elb.load_balancers.values():
        actions = [a for listener in lb.listeners.values() for rule in listener.rules.values() for a in rule.actions]
        if any(a.type == "forward" and target_group_arn in elb._get_target_group_arns_from(action_data=a.data)
               for a in actions):
            found.append(lb.arn)
    return found


def _check_load_balancers(backend, task_definition, load_balancers):
    """ECS's CreateTaskSet checks: the target group is attached to a load balancer, and the
    container exists and exposes the port in the task definition."""
    elb = _elb(backend)
    containers = {c.get("name"): c for c in backend.describe_task_definition(task_definition).container_definitions}
    for ref in load_balancers:
        arn = ref.get("targetGroupArn")
        if arn and not (arn in elb.target_groups and _load_balancers_forwarding_to(elb, arn)):
            raise InvalidParameterException(
                f"The target group with targetGroupArn {arn} does not have an associated load balancer.")
        name, port = ref.get("containerName"), ref.get("containerPort")
        if name not in containers:
            raise InvalidParameterException(f"The container {name} does not exist in the task definition.")
        if port not in [m.get("containerPort") for m in containers[name].get("portMappings") or []]:
            raise InvalidParameterException(f"The container {name} did not have a container port {port} defined.")


# Made-up task IPs, 10.0.128.1 upwards (the seeded subnets do not use them); each is handed
# out once. itertools.count is safe to share between moto's request threads.
_task_ip_numbers = itertools.count(1)


def _new_task_ip():
    return str(ipaddress.ip_address("10.0.128.0") + next(_task_ip_numbers))


def _sync_targets(backend, ts, count):
    """Registers `count` task slots of the task set in each of its target groups (ip targets:
    the slot's IP and the container port), deregistering slots beyond `count`, as ECS
    registers the tasks it starts and deregisters the tasks it stops."""
    ips = ts.__dict__.setdefault("_target_ips", [])
    while len(ips) < count:
        ips.append(_new_task_ip())
    surplus = ips[count:]
    del ips[count:]
    elb = _elb(backend)
    for ref in ts.load_balancers:
        group = elb.target_groups.get(ref.get("targetGroupArn"))
        if group is None or group.target_type != "ip":
            continue  # only awsvpc tasks (ip targets) are modelled: moto has no container instances
        port = ref.get("containerPort") or group.port
        gone = [{"Id": ip, "Port": port} for ip in surplus if ip in group.targets]
        if gone:
            group.deregister(gone)
        group.register([{"Id": ip, "Port": port} for ip in ips])


_original_describe_target_groups = ELBBackend.describe_target_groups


def describe_target_groups(self, *args, **kwargs):
    for group in self.target_groups.values():
        group.load_balancer_arns = _load_balancers_forwarding_to(self, group.arn)
    return _original_describe_target_groups(self, *args, **kwargs)


# IAM SimulatePrincipalPolicy (see the module's docstring).

def _principal_policies(backend, source_arn):
    """The policy documents (JSON text or moto policy objects) of a user, role or group ARN."""
    parts = source_arn.split(":", 5)  # arn:partition:iam::account:user/path/name
    kind = parts[5].split("/", 1)[0] if len(parts) == 6 and parts[2] == "iam" else ""
    if kind not in ("user", "role", "group"):
        raise InvalidInput(f"Invalid ARN {source_arn}: PolicySourceArn must be an IAM user, group or role.")
    name = source_arn.rsplit("/", 1)[-1]

    def owned(entity):
        return list(entity.policies.values()) + list(entity.managed_policies.values())

    if kind == "user":
        user = next((u for u in backend.users.values() if u.arn == source_arn), None)
        if user is None:
            raise NoSuchEntity(f"The user with name {name} cannot be found.")
        groups = [g for g in backend.groups.values() if user in g.users]
        return owned(user) + [p for g in groups for p in owned(g)]
    entities = backend.roles.values() if kind == "role" else backend.groups.values()
    entity = next((e for e in entities if e.arn == source_arn), None)
    if entity is None:
        raise NoSuchEntity(f"The {kind} with name {name} cannot be found.")
    return owned(entity)


def _decision(policies, action, resource):
    results = [IAMPolicy(p).is_action_permitted(action, resource) for p in policies]
    if PermissionResult.DENIED in results:
        return "explicitDeny"
    return "allowed" if PermissionResult.PERMITTED in results else "implicitDeny"


def simulate_principal_policy(self):
    policies = _principal_policies(self.backend, self._get_param("PolicySourceArn") or "")
    policies += list(self._get_param("PolicyInputList", []) or [])
    actions = self._get_param("ActionNames", []) or []
    if not actions:
        raise InvalidInput("ActionNames must contain at least one action.")
    resources = self._get_param("ResourceArns", []) or ["*"]
    results = [{"EvalActionName": action, "EvalResourceName": resource,
                "EvalDecision": _decision(policies, action, resource),
                "MatchedStatements": [], "MissingContextValues": []}
               for action in actions for resource in resources]
    marker = str(self._get_param("Marker") or "0")
    if not marker.isdigit():
        raise InvalidInput(f"Invalid Marker {marker}.")
    start = int(marker)
    max_items = int(self._get_param("MaxItems") or 100)
    page = results[start:start + max_items]
    result = {"EvaluationResults": page, "IsTruncated": start + max_items < len(results)}
    if result["IsTruncated"]:
        result["Marker"] = str(start + max_items)
    return ActionResult(result)


def apply(level="full"):
    global FIELDS
    if level not in ("full", "dynamics", "none"):
        sys.exit(f"unknown patch level {level!r}: full, dynamics or none")
    if level == "none":
        return
    FIELDS = level == "full"
    # Tasks stay RUNNING (moto's state manager would otherwise move them on every describe).
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**9})
    Backend.create_service = create_service
    Backend.update_service = update_service
    Backend.create_task_set = create_task_set
    Backend.update_task_set = update_task_set
    Backend.update_service_primary_task_set = update_service_primary_task_set
    Backend.delete_task_set = delete_task_set
    Backend.describe_task_sets = describe_task_sets
    ecs_models.Task.__init__ = task_init
    ELBBackend.describe_target_groups = describe_target_groups
    EC2ContainerServiceResponse.list_services = list_services
    IamResponse.simulate_principal_policy = simulate_principal_policy

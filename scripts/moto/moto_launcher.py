#!/usr/bin/env python3
"""Starts moto's server on a loopback port for the AWS client's integration tests.

    python3 scripts/moto/moto_launcher.py --port 5123 [--fixtures FILE] [--auth] [--parent-pid PID]
                                         [--patches full|dynamics|none] [--request-problems FILE]

- Patches moto's ECS backend first (see moto_patches.py) so that it behaves as ECS does where
  a correct client depends on it; `--patches dynamics` only where moto models no behaviour,
  `--patches none` not at all.
- --request-problems FILE: checks every request of the client under test against botocore's
  service models (see request_check.py) and appends what AWS would refuse to FILE.
- --fixtures FILE: creates a small estate through moto's own API (ECS cluster, task
  definition, services, IAM roles, VPC, load balancer, target groups, listener, rule,
  EventBridge rule and target) and writes its names and ARNs to FILE as JSON. FILE appears
  only once the server answers and the estate exists, so its presence means "ready".
- --auth: creates an IAM user with an allow-all policy and an access key (written to the
  fixtures), then turns moto's request authentication on (as INITIAL_NO_AUTH_ACTION_COUNT=0
  does): every later request must carry a valid SigV4 signature by that key.
- Stops on SIGTERM/SIGINT, or when the process --parent-pid names has gone.
"""

import argparse
import datetime
import json
import logging
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

REGION = "us-east-1"
SEED_KEY = "AKIDMOTOSEED"


def seed(endpoint, with_user):
    import boto3

    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id=SEED_KEY, aws_secret_access_key="seed")
    iam, ecs, ec2 = boto3.client("iam", **kw), boto3.client("ecs", **kw), boto3.client("ec2", **kw)
    elb, events = boto3.client("elbv2", **kw), boto3.client("events", **kw)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                 "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]})
    exec_role = iam.create_role(RoleName="ecsTaskExecutionRole", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    task_role = iam.create_role(RoleName="web-task-role", AssumeRolePolicyDocument=trust)["Role"]["Arn"]

    cluster = ecs.create_cluster(clusterName="demo")["cluster"]["clusterArn"]
    td = ecs.register_task_definition(
        family="web", executionRoleArn=exec_role, taskRoleArn=task_role, networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": "nginx:1.25", "memory": 256, "essential": True,
                               "portMappings": [{"containerPort": 80, "protocol": "tcp"}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    # Task sets here use a bridge-mode definition: CreateTaskSetInput has no network
    # configuration yet, which an awsvpc definition requires (ECS and moto alike). Its port
    # mapping lets a task set put container `worker` port 80 behind a target group.
    worker = ecs.register_task_definition(
        family="worker", containerDefinitions=[{"name": "worker", "image": "busybox:1.36", "memory": 128,
                                                "portMappings": [{"containerPort": 80, "protocol": "tcp"}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    service = ecs.create_service(cluster="demo", serviceName="web", taskDefinition="web:1", desiredCount=2,
                                 launchType="FARGATE")["service"]["serviceArn"]
    external = ecs.create_service(cluster="demo", serviceName="web-ext", desiredCount=4, launchType="FARGATE",
                                  deploymentController={"type": "EXTERNAL"})["service"]["serviceArn"]
    batch = [ecs.create_service(cluster="demo", serviceName=f"batch-{i:02d}", taskDefinition="web:1", desiredCount=1,
                                launchType="FARGATE")["service"]["serviceArn"] for i in range(1, 13)]

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
               for i, z in ((1, "a"), (2, "b"))]
    lb = elb.create_load_balancer(Name="web-lb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    blue = elb.create_target_group(Name="web-blue", Protocol="HTTP", Port=80, VpcId=vpc,
                                   TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    green = elb.create_target_group(Name="web-green", Protocol="HTTP", Port=80, VpcId=vpc,
                                    TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=blue, Targets=[{"Id": "10.0.1.10", "Port": 80}])
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}])["Listeners"][0]["ListenerArn"]
    rule = elb.create_rule(ListenerArn=listener, Priority=10,
                           Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
                           Actions=[{"Type": "forward", "TargetGroupArn": blue}])["Rules"][0]["RuleArn"]

    events.put_rule(Name="nightly-report", ScheduleExpression="cron(0 3 * * ? *)")
    events.put_targets(Rule="nightly-report", Targets=[{
        "Id": "report-task", "Arn": cluster, "RoleArn": exec_role, "Input": "{\"mode\":\"full\"}",
        "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
        "EcsParameters": {"TaskDefinitionArn": td, "TaskCount": 1, "LaunchType": "FARGATE", "PlatformVersion": "LATEST",
                          "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": subnets,
                                                                           "AssignPublicIp": "DISABLED"}}},
    }])

    cloudwatch = boto3.client("cloudwatch", **kw)
    for name in ("web-5xx", "web-latency"):
        cloudwatch.put_metric_alarm(AlarmName=name, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
                                    Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=10,
                                    ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName="web-5xx", StateValue="OK", StateReason="Threshold not crossed")
    cloudwatch.set_alarm_state(AlarmName="web-latency", StateValue="ALARM", StateReason="Threshold Crossed: 1 datapoint > 10")
    # Two minutes of a target group's 5XX counts (2 + 5 and 1 + 3), for GetMetricData.
    dimension = [{"Name": "TargetGroup", "Value": "targetgroup/web-green/" + green.rsplit("/", 1)[-1]}]
    minute = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    for ago, values in ((2, (2, 5)), (1, (1, 3))):
        cloudwatch.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=[
            {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dimension, "Value": v, "Unit": "Count",
             "Timestamp": minute - datetime.timedelta(minutes=ago) + datetime.timedelta(seconds=10 + i)}
            for i, v in enumerate(values)])

    topic = boto3.client("sns", **kw).create_topic(Name="deploys")["TopicArn"]

    fixtures = {
        "region": REGION, "topicArn": topic, "cluster": "demo", "clusterArn": cluster, "taskDefinitionArn": td, "workerTaskDefinitionArn": worker,
        "service": "web", "serviceArn": service, "externalService": "web-ext", "externalServiceArn": external,
        "batchServiceArns": batch, "executionRoleArn": exec_role, "taskRoleArn": task_role,
        "loadBalancerArn": lb, "blueTargetGroupArn": blue, "greenTargetGroupArn": green, "greenMetricsMinute": minute.isoformat(),
        "listenerArn": listener, "ruleArn": rule, "eventRule": "nightly-report", "subnets": subnets,
    }
    if with_user:
        iam.create_user(UserName="deployer")
        iam.put_user_policy(UserName="deployer", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="deployer")["AccessKey"]
        fixtures["accessKeyId"] = key["AccessKeyId"]
        fixtures["secretAccessKey"] = key["SecretAccessKey"]
        fixtures["userArn"] = iam.get_user(UserName="deployer")["User"]["Arn"]
    return fixtures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--fixtures", help="write the seeded estate's ARNs here (JSON) once ready")
    parser.add_argument("--auth", action="store_true", help="require SigV4 signatures by a seeded IAM user's key")
    parser.add_argument("--parent-pid", type=int, help="exit when this process has gone")
    parser.add_argument("--patches", choices=["full", "dynamics", "none"], default="full")
    parser.add_argument("--request-problems", help="append the client's requests that AWS's models refuse here")
    args = parser.parse_args()
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("moto serves on loopback addresses only")

    import moto_patches
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.server import ThreadedMotoServer

    moto_patches.apply(args.patches)
    if args.request_problems:
        import request_check
        request_check.install(args.request_problems)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    endpoint = f"http://{args.host}:{args.port}"

    fixtures = seed(endpoint, with_user=args.auth) if (args.fixtures or args.auth) else {}
    if args.auth:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0
    fixtures["endpoint"] = endpoint
    if args.fixtures:
        partial = args.fixtures + ".tmp"
        with open(partial, "w") as f:
            json.dump(fixtures, f, indent=2)
        os.replace(partial, args.fixtures)
    print(f"moto ready on {endpoint}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        if args.parent_pid:
            try:
                os.kill(args.parent_pid, 0)
            except ProcessLookupError:
                break
    server.stop()


if __name__ == "__main__":
    main()

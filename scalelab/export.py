"""The autoscalers as the configuration a real platform takes: a Kubernetes
HorizontalPodAutoscaler manifest, AWS EC2 Auto Scaling policy JSON. Nothing here talks to a
cluster or an AWS account: it only writes the documents, and reads them back.

>>> import scalelab as sl
>>> hpa = sl.autoscalers.HPA(target_utilization=0.6, max_replicas=10)
>>> manifest = hpa.to_kubernetes(name="web")
>>> manifest["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"]
60
>>> print(manifest.yaml().splitlines()[0])
apiVersion: autoscaling/v2

Schemas followed: Kubernetes ``autoscaling/v2`` HorizontalPodAutoscaler (GA since Kubernetes
1.23; ``HorizontalPodAutoscalerSpec``, ``HorizontalPodAutoscalerBehavior``, ``HPAScalingRules``
and ``HPAScalingPolicy`` in k8s.io/api/autoscaling/v2/types.go); the Amazon EC2 Auto Scaling
API version 2011-01-01 (``PutScalingPolicy``: ``TargetTrackingConfiguration``,
``StepAdjustments``) and the CloudWatch API version 2010-08-01 (``PutMetricAlarm``) for the
alarms that drive step scaling. Utilization is a fraction 0–1 in scalelab and a percent in
both platforms; times in whole seconds.
"""

from __future__ import annotations

import json
import math
import re
import warnings

from . import _validate

K8S_DEFAULT_TOLERANCE = 0.1  # the controller's --horizontal-pod-autoscaler-tolerance
AWS_ADJUSTMENT = {"percent": "PercentChangeInCapacity", "change": "ChangeInCapacity",
                  "exact": "ExactCapacity"}
AWS_TARGET_ALARMS = (180.0, 900.0)  # AWS's fixed alarms: 3 of 3 minutes out, 15 of 15 in


class Document(dict):
    """A manifest or policy (a plain dict) that can also print itself as YAML or JSON."""

    def json(self) -> str:
        return json.dumps(self, indent=2)

    def yaml(self) -> str:
        """Block-style YAML (the standard library has no YAML writer; this covers dicts,
        lists, strings, numbers, booleans and None)."""
        return "\n".join(_yaml_lines(self, 0)) + "\n"

    def _repr_markdown_(self) -> str:
        return f"```yaml\n{self.yaml()}```"


# -- Kubernetes -------------------------------------------------------------------------------

def hpa_to_kubernetes(hpa, name: str, target: str | None, kind: str, min_replicas,
                      max_replicas) -> Document:
    """See :meth:`scalelab.autoscalers.HPA.to_kubernetes`."""
    name = _name("name", name)
    low = hpa.min_replicas if min_replicas is None else min_replicas
    high = hpa.max_replicas if max_replicas is None else max_replicas
    low = _validate.integer("min_replicas", 1 if low is None else low, minimum=1)
    high = _validate.integer("max_replicas", 20 if high is None else high, minimum=low)
    up = [{"type": "Pods", "value": hpa.scale_up_pods}, {"type": "Percent",
                                                         "value": hpa.scale_up_percent}]
    up = [dict(p, periodSeconds=_seconds("scale_up_period", hpa.scale_up_period))
          for p in up if p["value"] is not None]
    down = 100 if hpa.scale_down_percent is None else hpa.scale_down_percent
    metadata = {"name": name}
    if hpa.tolerance != K8S_DEFAULT_TOLERANCE:
        metadata["annotations"] = {"scalelab/tolerance": str(hpa.tolerance)}
    return Document({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": metadata,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind,
                               "name": _name("target", target or name)},
            "minReplicas": low, "maxReplicas": high,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization",
                "averageUtilization": round(hpa.target_utilization * 100)}}}],
            "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": _seconds(
                    "upscale_stabilization", hpa.upscale_stabilization),
                    "selectPolicy": "Max", "policies": up},
                "scaleDown": {"stabilizationWindowSeconds": _seconds(
                    "downscale_stabilization", hpa.downscale_stabilization),
                    "selectPolicy": "Max", "policies": [{
                        "type": "Percent", "value": down, "periodSeconds": _seconds(
                            "scale_down_period", hpa.scale_down_period)}]}}}})


def hpa_from_kubernetes(manifest: dict):
    """The :class:`~scalelab.autoscalers.HPA` a manifest describes (the round trip)."""
    from .autoscalers import HPA

    spec = manifest["spec"]
    up, down = spec["behavior"]["scaleUp"], spec["behavior"]["scaleDown"]
    ups = {p["type"]: p for p in up["policies"]}
    tolerance = manifest["metadata"].get("annotations", {}).get("scalelab/tolerance")
    utilization = spec["metrics"][0]["resource"]["target"]["averageUtilization"]
    return HPA(target_utilization=utilization / 100, min_replicas=spec.get("minReplicas", 1),
               max_replicas=spec["maxReplicas"],
               tolerance=K8S_DEFAULT_TOLERANCE if tolerance is None else float(tolerance),
               downscale_stabilization=down["stabilizationWindowSeconds"],
               upscale_stabilization=up["stabilizationWindowSeconds"],
               scale_up_pods=ups.get("Pods", {}).get("value"),
               scale_up_percent=ups.get("Percent", {}).get("value"),
               scale_up_period=next(iter(ups.values()))["periodSeconds"],
               scale_down_percent=down["policies"][0]["value"],
               scale_down_period=down["policies"][0]["periodSeconds"])


# -- AWS ---------------------------------------------------------------------------------------

def target_tracking_to_aws(policy, group: str, name: str, warmup: float | None) -> Document:
    """See :meth:`scalelab.autoscalers.TargetTracking.to_aws`."""
    if (policy.scale_out_duration, policy.scale_in_duration) != AWS_TARGET_ALARMS:
        warnings.warn("AWS target tracking creates its alarms itself (out after 3 of 3 minutes, "
                      "in after 15 of 15): this policy's scale_out_duration="
                      f"{policy.scale_out_duration:g} s and scale_in_duration="
                      f"{policy.scale_in_duration:g} s cannot be carried over", stacklevel=3)
    document = Document({
        "AutoScalingGroupName": _name("group", group), "PolicyName": _name("name", name),
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingConfiguration": {
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
            "TargetValue": round(policy.target * 100, 6), "DisableScaleIn": False}})
    if warmup is not None:
        document["EstimatedInstanceWarmup"] = _seconds("warmup", warmup)
    return document


def target_tracking_from_aws(document: dict):
    """The :class:`~scalelab.autoscalers.TargetTracking` a policy describes."""
    from .autoscalers import TargetTracking

    value = document["TargetTrackingConfiguration"]["TargetValue"]
    return TargetTracking(target=value / 100, scale_out_duration=AWS_TARGET_ALARMS[0],
                          scale_in_duration=AWS_TARGET_ALARMS[1])


def step_scaling_to_aws(policy, group: str, name: str, warmup: float | None) -> Document:
    """See :meth:`scalelab.autoscalers.StepScaling.to_aws`."""
    group, name = _name("group", group), _name("name", name)
    periods = max(1, math.ceil(policy.duration / 60))
    if periods * 60 != policy.duration:
        warnings.warn(f"CloudWatch alarms count whole 60 s periods: duration={policy.duration:g}"
                      f" s becomes {periods} period(s), {periods * 60} s", stacklevel=3)
    threshold = round(policy.threshold * 100, 6)
    document = {}
    for side, steps, operator in (("ScaleOut", policy.scale_out, "GreaterThanOrEqualToThreshold"),
                                  ("ScaleIn", policy.scale_in, "LessThanOrEqualToThreshold")):
        rule = {"AutoScalingGroupName": group, "PolicyName": f"{name}-{side.lower()}",
                "PolicyType": "StepScaling", "AdjustmentType": AWS_ADJUSTMENT[
                    policy.adjustment_type], "MetricAggregationType": "Average",
                "StepAdjustments": [_aws_step(step) for step in steps]}
        if policy.adjustment_type == "percent":
            rule["MinAdjustmentMagnitude"] = policy.min_adjustment_magnitude
        if warmup is not None:
            rule["EstimatedInstanceWarmup"] = _seconds("warmup", warmup)
        document[f"{side}Policy"] = rule
        document[f"{side}Alarm"] = {
            "AlarmName": f"{name}-{side.lower()}", "Namespace": "AWS/EC2",
            "MetricName": "CPUUtilization", "Dimensions": [{"Name": "AutoScalingGroupName",
                                                            "Value": group}],
            "Statistic": "Average", "Period": 60, "EvaluationPeriods": periods,
            "Threshold": threshold, "ComparisonOperator": operator,
            "AlarmActions": [f"<the PolicyARN that PutScalingPolicy returns for {name}-"
                             f"{side.lower()}>"]}
    return Document(document)


def _aws_step(step) -> dict:
    lower, upper, adjustment = step
    row = {}
    if lower is not None:
        row["MetricIntervalLowerBound"] = round(lower * 100, 6)
    if upper is not None:
        row["MetricIntervalUpperBound"] = round(upper * 100, 6)
    row["ScalingAdjustment"] = adjustment
    return row


def step_scaling_from_aws(document: dict, cooldown: float = 300.0):
    """The :class:`~scalelab.autoscalers.StepScaling` a pair of policies and alarms describes
    (AWS step policies have no cooldown: ``cooldown`` is scalelab's own scale-in wait)."""
    from .autoscalers import StepScaling

    out, alarm = document["ScaleOutPolicy"], document["ScaleOutAlarm"]
    kind = {v: k for k, v in AWS_ADJUSTMENT.items()}[out["AdjustmentType"]]

    def steps(rule):
        return [(_fraction(s.get("MetricIntervalLowerBound")),
                 _fraction(s.get("MetricIntervalUpperBound")), s["ScalingAdjustment"])
                for s in rule["StepAdjustments"]]

    return StepScaling(threshold=alarm["Threshold"] / 100, scale_out=steps(out),
                       scale_in=steps(document["ScaleInPolicy"]), adjustment_type=kind,
                       min_adjustment_magnitude=out.get("MinAdjustmentMagnitude", 1),
                       duration=alarm["EvaluationPeriods"] * alarm["Period"], cooldown=cooldown)


# -- helpers -------------------------------------------------------------------------------------

def _fraction(percent):
    return None if percent is None else round(percent / 100, 9)


def _seconds(name: str, value) -> int:
    value = _validate.number(name, value, minimum=0)
    if not float(value).is_integer():
        raise ValueError(f"{name} must be whole seconds to be exported, got {value:g}")
    return int(value)


def _name(what: str, value) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", value,
                                                      re.IGNORECASE):
        raise ValueError(f"{what} must be a name of letters, digits, '-' and '.', "
                         f"e.g. 'web', got {value!r}")
    return value


def _yaml_lines(value, depth: int) -> list[str]:
    pad = "  " * depth
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines += _yaml_lines(item, depth + 1)
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return lines
    lines = []
    for item in value:
        inner = _yaml_lines(item, depth + 1) if isinstance(item, (dict, list)) and item \
            else [f"{pad}  {_scalar(item)}"]
        lines.append(f"{pad}- {inner[0].lstrip()}")
        lines += inner[1:]
    return lines


def _scalar(value) -> str:
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    text = str(value)
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9/._-]*", text) and text.lower() not in (
            "true", "false", "null", "yes", "no", "on", "off", "y", "n"):
        return text
    return json.dumps(text)

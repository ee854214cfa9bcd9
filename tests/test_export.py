"""Autoscaler exports: each document follows its platform's schema (Kubernetes autoscaling/v2,
EC2 Auto Scaling 2011-01-01, CloudWatch 2010-08-01) and reads back into the same policy."""

from __future__ import annotations

import json

import pytest

import scalelab as sl
from scalelab import export

a = sl.autoscalers

HPAS = [a.HPA(), a.HPA(target_utilization=0.7, min_replicas=2, max_replicas=12,
                       tolerance=0.05, downscale_stabilization=120, upscale_stabilization=30,
                       scale_up_pods=None, scale_up_percent=50, scale_up_period=60,
                       scale_down_percent=20, scale_down_period=30)]
STEPS = [a.StepScaling(),
         a.StepScaling(threshold=0.7, scale_out=[(0, 0.15, 1), (0.15, None, 3)],
                       scale_in=[(None, -0.3, -2), (-0.3, 0, -1)], adjustment_type="change",
                       duration=180, cooldown=300),
         a.StepScaling(threshold=0.6, scale_out=[(0, None, 8)], scale_in=[(None, 0, 2)],
                       adjustment_type="exact", duration=120)]


def settings(policy) -> dict:
    return {k: v for k, v in vars(policy).items() if not k.startswith("_")}


@pytest.mark.parametrize("hpa", HPAS, ids=["defaults", "tuned"])
def test_hpa_manifest_reads_back_into_the_same_policy(hpa):
    manifest = hpa.to_kubernetes(name="web", max_replicas=hpa.max_replicas or 20)
    back = export.hpa_from_kubernetes(json.loads(manifest.json()))
    expected = settings(hpa)
    expected["min_replicas"] = hpa.min_replicas or 1
    expected["max_replicas"] = hpa.max_replicas or 20
    assert settings(back) == expected


def test_hpa_manifest_follows_autoscaling_v2():
    manifest = HPAS[1].to_kubernetes(name="shop", target="shop-api")
    assert (manifest["apiVersion"], manifest["kind"]) == ("autoscaling/v2",
                                                          "HorizontalPodAutoscaler")
    spec = manifest["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                      "name": "shop-api"}
    assert spec["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 70}}}]
    assert spec["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 120,
                                             "selectPolicy": "Max", "policies": [
                                                 {"type": "Percent", "value": 20,
                                                  "periodSeconds": 30}]}
    assert spec["behavior"]["scaleUp"]["policies"] == [{"type": "Percent", "value": 50,
                                                        "periodSeconds": 60}]


def test_the_yaml_text_is_the_same_document():
    yaml = pytest.importorskip("yaml")
    for document in (HPAS[1].to_kubernetes(), a.TargetTracking(0.55).to_aws(),
                     STEPS[1].to_aws()):
        assert yaml.safe_load(document.yaml()) == document
        assert json.loads(document.json()) == document


def test_target_tracking_policy_reads_back():
    policy = a.TargetTracking(target=0.55)
    document = policy.to_aws(group="shop", warmup=120)
    config = document["TargetTrackingConfiguration"]
    assert document["PolicyType"] == "TargetTrackingScaling"
    assert config["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ASGAverageCPUUtilization"}
    assert config["TargetValue"] == 55.0 and document["EstimatedInstanceWarmup"] == 120
    assert settings(export.target_tracking_from_aws(document)) == settings(policy)


def test_target_tracking_durations_aws_fixes_itself_warn():
    with pytest.warns(UserWarning, match="3 of 3 minutes"):
        a.TargetTracking(target=0.5, scale_out_duration=60).to_aws()


@pytest.mark.parametrize("policy", STEPS, ids=["percent", "change", "exact"])
def test_step_scaling_reads_back_into_the_same_policy(policy):
    document = policy.to_aws(group="shop")
    back = export.step_scaling_from_aws(json.loads(document.json()), cooldown=policy.cooldown)
    assert settings(back) == settings(policy)


def test_step_adjustments_follow_the_aws_rules():
    document = STEPS[0].to_aws()
    out = document["ScaleOutPolicy"]["StepAdjustments"]
    scale_in = document["ScaleInPolicy"]["StepAdjustments"]
    # scale-out bounds ≥ 0 and scale-in bounds ≤ 0 (offsets from the alarm threshold, percent),
    # contiguous, and only the outermost step unbounded
    assert all(s.get("MetricIntervalLowerBound", 0) >= 0 for s in out)
    assert all(s.get("MetricIntervalUpperBound", 0) <= 0 for s in scale_in)
    for steps in (out, scale_in):
        for left, right in zip(steps, steps[1:]):
            assert left["MetricIntervalUpperBound"] == right["MetricIntervalLowerBound"]
    assert [s["ScalingAdjustment"] for s in out] == [0, 10, 30]
    assert document["ScaleOutAlarm"]["Threshold"] == 50.0
    assert document["ScaleOutAlarm"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert document["ScaleOutPolicy"]["AdjustmentType"] == "PercentChangeInCapacity"


@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda: a.HPA().to_kubernetes(name="Not a name"), ValueError, "name must be"),
    (lambda: a.HPA(scale_up_period=7.5).to_kubernetes(), ValueError, "whole seconds"),
    (lambda: a.HPA().to_kubernetes(min_replicas=5, max_replicas=2), ValueError, "max_replicas"),
    (lambda: a.TargetTracking().to_aws(warmup=-1), ValueError, "warmup must be ≥ 0"),
])
def test_bad_arguments_name_the_parameter(call, error, words):
    with pytest.raises(error, match=words):
        call()

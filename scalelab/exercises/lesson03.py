"""Exercises for lesson 03 · When instances fail.

Objectives checked: how long a dead instance stays in rotation under health checks (q1); how
many requests fail before the health check acts (q2). Times in seconds.
"""

from __future__ import annotations

from .problem import Number, register

q1 = Number(
    title="A dead instance in rotation",
    prompt="An instance crashes at **t = 10.5 s**. The balancer probes every instance every "
           "**2 s** (at t = 2, 4, 6, …) and marks one down after **3 failed probes in a row** "
           "(`sl.HealthCheck(interval=2, unhealthy_threshold=3)`). **For how many seconds "
           "after the crash does the balancer keep sending requests to the dead instance?** "
           "Put it in `q1_seconds`.",
    answer="q1_seconds", expected=5.5, tolerance=0.05, units="s",
    stub="q1_seconds = ...  # seconds",
    mistakes=[
        (6, ("That is 3 × 2 s. The first failed probe does not come 2 s after the crash: when "
             "is the next probe after t = 10.5 s?")),
        (16, ("That is the time at which the instance is marked down; the question asks how "
              "long after the crash that is.")),
        (3.5, "That stops at the second failed probe; it takes three in a row."),
        (7.5, "One probe too many: the third failed probe marks it down."),
    ],
    hints=[
        "List the probe times after the crash and count the failures.",
        "Probes at 12, 14 and 16 s fail: which one marks the instance down?",
        "Marked down at 16 s, crashed at 10.5 s.",
    ],
    solution="q1_seconds = 16 - 10.5  # probes at 12, 14, 16 fail; the third marks it down",
    explanation="The probes at 12, 14 and 16 s fail, and the third marks the instance down at "
                "16 s: for 5.5 s every request the balancer sends it fails (or is retried). "
                "Shorter intervals or a lower threshold shrink that window, at the price of "
                "more probes and of marking down instances that were only slow for a moment.",
)

q2 = Number(
    title="Errors while a dead instance is in rotation",
    prompt="Five instances behind round robin share **300 requests/s**. One of them crashes "
           "just after a health-check probe; the balancer probes every **1 s** and marks an "
           "instance down after **3 failed probes in a row**, and it does not retry. **About "
           "how many requests fail?** (Leave out the few that were inside the instance when it "
           "crashed.) Put it in `q2_failed`.",
    answer="q2_failed", expected=180, tolerance=0.1, relative=True, units="requests",
    stub="q2_failed = ...  # requests",
    mistakes=[
        (900, ("That is every request sent while the instance was dead. Round robin sends it "
               "only its share of them.")),
        (60, "That is its share of one second. For how long does it stay in rotation?"),
        (120, "That stops at the second failed probe; it takes three in a row."),
        (240, ("One interval too many: the crash came just after a probe, so the third failed "
               "probe comes about three intervals later.")),
        (225, ("That splits the traffic over the four instances left. Until it is marked down, "
               "round robin still splits it five ways.")),
    ],
    hints=[
        ("Two questions: for how many seconds is the dead instance still in rotation, and what "
         "share of the traffic does round robin send it meanwhile?"),
        "The failed probes come about 1, 2 and 3 s after the crash; it gets one request in five.",
        "300 requests/s × 3 s ÷ 5.",
    ],
    solution="q2_failed = 300 * 3 / 5  # its share of the traffic until the third failed probe",
    explanation="The third failed probe, about 3 s after the crash, marks the instance down; "
                "until then round robin sends it a fifth of 300 requests/s, and each of those "
                "fails: rate × detection time ÷ instances. One retry on another instance hides "
                "them all; probing more often or a lower threshold shortens the window.",
)

register(globals(), lesson="lesson03", notebook="03-when-instances-fail.ipynb",
         title="When instances fail")

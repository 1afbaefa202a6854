"""The SOP steps' logic, one module per step kind (``humas.sop.STAGE_KINDS``):

    intake  humas.steps.intake   the item enters the SOP: its brief checked again, the narration checked
    work    humas.steps.work     waits for a person's delivery (narration, photos, design), timed; a design
                                 is then checked and its renditions made
    gate    humas.steps.gate     a named role decides through a signed flag: approve, revise, decline
    upload  humas.steps.upload   the approved content posted exactly once per channel; the links recorded

Each takes an ``ItemStep`` (the item, its SOP step, its brief read once) and returns what the step produced
or an outcome from ``humas.steps.base`` (wait, send back, declined) that the Airflow adapter carries out.
Nothing here imports Airflow.
"""

"""Wiring of the scorers: one namespaced pipeline per declared scorer that has a function
(node ``<scorer>.<function>``), from the declaration it is given."""

from kedro.pipeline import Pipeline, node

from msd_tagging.scoring.scorers import SCORERS, Scorer


def create_pipeline(scorers: tuple[Scorer, ...] = SCORERS, **kwargs) -> Pipeline:
    return Pipeline([_scorer(s) for s in scorers if s.function is not None], tags=["scoring"])


def _scorer(s: Scorer) -> Pipeline:
    inputs = [name for name in s.inputs if not name.startswith("params:")]
    step = node(
        s.function,
        inputs=list(s.inputs),
        outputs=s.outputs if s.extra_outputs else s.outputs[0],
        name=s.function.__name__,
        tags=["method"] if s.method else [],
    )
    parameters = {name for name in s.inputs if name.startswith("params:")}
    return Pipeline([step], namespace=s.name, inputs=set(inputs), outputs=set(s.outputs), parameters=parameters)

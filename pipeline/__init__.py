"""bulletins: read Chinese transport law-enforcement work bulletins and turn them into issue lists.

Stages, one module each, composed by the CLI:

    extract  (file -> RawDocument)        pipeline.readers.registry
    clean    (RawDocument -> CleanDocument) pipeline.text.clean
    structure(CleanDocument -> Bulletin)  pipeline.text.structure
    segment  (str -> list[str])           pipeline.classify.segment
    classify (passages -> DataFrame)      pipeline.classify.model
    store / counts / issues               pipeline.store.database, pipeline.reports.queries
"""

__version__ = "0.1.0"

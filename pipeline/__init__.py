"""bulletins: read Chinese transport law-enforcement work bulletins and turn them into issue lists.

Stages, one module each, composed by the CLI:

    extract  (file -> RawDocument)        pipeline.extract
    clean    (RawDocument -> CleanDocument) pipeline.clean
    structure(CleanDocument -> Bulletin)  pipeline.structure
    segment  (str -> list[str])           pipeline.segment
    classify (passages -> DataFrame)      pipeline.model
    store / counts / issues               pipeline.store, pipeline.report
"""

__version__ = "0.1.0"

"""Readers: one module per file format, each turning a file into a :class:`RawDocument`.

:mod:`pipeline.readers.registry` picks the reader by content and the PDF engine by name;
it is the only entry point the rest of the package uses.
"""

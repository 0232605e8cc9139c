"""What a run keeps on disk: the journal, published outputs, the failure folder, scratch."""

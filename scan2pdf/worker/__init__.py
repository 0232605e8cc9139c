"""Everything that runs next to OCRmyPDF, inside a worker process."""

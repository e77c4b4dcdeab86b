"""Printable documents: WeasyPrint PDFs, numbered and archived unchanged."""

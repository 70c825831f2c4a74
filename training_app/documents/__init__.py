"""Rendering and keeping documents: Word (docxtpl), Excel (openpyxl), stored files and uploads."""

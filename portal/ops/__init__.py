"""Operations: the command line, backups and restores, the demo county."""

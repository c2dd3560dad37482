// unit tests of the CMP server (filled below)

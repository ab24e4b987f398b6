from tidings.cli import main

if __name__ == "__main__":  # not when a worker process starts and imports the main module again
    main()

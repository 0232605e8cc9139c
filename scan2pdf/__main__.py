from scan2pdf.cli import main

main()

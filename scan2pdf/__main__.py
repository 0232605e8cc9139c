from scan2pdf.launch import main

main()

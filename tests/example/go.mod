module example.com/ifxray/example

go 1.19

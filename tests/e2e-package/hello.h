const char *greeting(void);
int sum_to(int n);
int version(void);

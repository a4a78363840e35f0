@echo off
rem MergeIDE, written by virtdeck (Microsoft KB314082).
echo This adds the standard IDE drivers (atapi, intelide, pciide) to the drivers
echo Windows loads at boot (the CriticalDeviceDatabase), so this Windows can start
echo from the IDE disk of its new hypervisor (QEMU/KVM).
echo.
regedit /s "%~dp0mergeide.reg"
reg query "HKLM\SYSTEM\CurrentControlSet\Control\CriticalDeviceDatabase\pci#ven_8086&dev_7010" >nul 2>&1
if errorlevel 1 goto failed
echo Done: the IDE driver entries are now in the registry.
echo Next: uninstall VMware Tools if they are installed, then shut Windows down
echo and move the disk to the new hypervisor.
pause
goto :eof
:failed
echo The registry entries could not be confirmed. Log on as an administrator
echo and run mergeide.bat again.
pause

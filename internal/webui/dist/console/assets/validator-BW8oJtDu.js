import{cp as i}from"./index-zN-LM6l1.js";const n=o=>["",...i].includes(o);export{n as i};
